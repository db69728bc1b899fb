import fs from 'node:fs';
import path from 'node:path';
import { contentHash } from '../../src/segments/segment-name.js';

/** Writes a segment with a name that carries its content's hash; returns the name. */
export function writeSegment(base: string, channel: string, quality: string, hour: string, time: string, content: Buffer | string, o: { type?: string; duration?: string } = {}): string {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const name = `${time}-${o.duration ?? '2.0'}-${o.type ?? 'full'}-${contentHash(data)}.ts`;
  const dir = path.join(base, channel, quality, hour);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
  return name;
}

/** Every file below `dir`, relative, sorted ([] when it does not exist). */
export function filesBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}
