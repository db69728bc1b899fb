import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What `makeSegmentTree` wrote. */
export interface SegmentTreeFiles {
  /** Every segment, `CHANNEL/QUALITY/HOUR/NAME`, sorted. */
  files: string[];
  bytes: number;
}

/** `MM:SS.ffffff` of an offset into the hour, in microseconds. */
function timeOf(us: number): string {
  const s = Math.floor(us / 1e6);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 60))}:${two(s % 60)}.${String(us % 1e6).padStart(6, '0')}`;
}

/**
 * A wubloader segment tree under `root`: `CHANNEL/QUALITY/HOUR/MM:SS.ffffff-2.0-full-HASH.ts`,
 * `segments` in all, spread evenly over the qualities and `hours` hour directories from
 * 2019-11-13T00 (old, so no recent cut-off applies), each file `size` random bytes named by its
 * SHA-256 (unpadded URL-safe base64). A hour's segments are spaced evenly over its 3600 s, so
 * every name in it is distinct.
 */
export function makeSegmentTree(root: string, o: { segments: number; size: number; hours: number; channel: string; qualities: string[] }): SegmentTreeFiles {
  const dirs = o.qualities.flatMap((q) => Array.from({ length: o.hours }, (_, h) => path.join(o.channel, q, `2019-11-13T${String(h).padStart(2, '0')}`)));
  const perDir = Math.ceil(o.segments / dirs.length);
  const buf = Buffer.alloc(o.size);
  const files: string[] = [];
  for (let i = 0; i < o.segments; i++) {
    const dir = dirs[Math.floor(i / perDir)] as string;
    if (i % perDir === 0) fs.mkdirSync(path.join(root, dir), { recursive: true });
    randomFillSync(buf);
    const hash = createHash('sha256').update(buf).digest('base64url');
    const rel = path.join(dir, `${timeOf(Math.floor(((i % perDir) * 3600e6) / perDir))}-2.0-full-${hash}.ts`);
    fs.writeFileSync(path.join(root, rel), buf);
    files.push(rel);
  }
  return { files: files.sort(), bytes: o.segments * o.size };
}

/** Every regular file under `root`, relative, sorted (hidden and temp ones too: a check must see them). */
export function listFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(root, path.join(d.parentPath ?? d.path, d.name)))
    .sort();
}
