import { createHash } from 'node:crypto';

/**
 * wubloader's segment tree: `CHANNEL/QUALITY/HOUR/NAME`, HOUR `%Y-%m-%dT%H` (UTC), NAME
 * `MM:SS.ffffff-DURATION-TYPE-HASH.ts` with TYPE full, suspect, partial or temp and HASH the
 * SHA-256 of the content as unpadded URL-safe base64. A deleted segment leaves an empty
 * `NAME-without-.ts.tombstone` beside it.
 */
export const HOUR = /^(\d{4})-(\d\d)-(\d\d)T(\d\d)$/;
export const SEGMENT_TYPES = ['full', 'suspect', 'partial', 'temp'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** A segment's name, parsed. */
export interface SegmentName {
  name: string;
  /** Offset of its start within its hour, ms. */
  offsetMs: number;
  /** Seconds, as the name says. */
  duration: number;
  type: SegmentType;
  /** The content's SHA-256, unpadded URL-safe base64; null for temp segments. */
  hash: string | null;
}

const TIME = /^(\d\d):(\d\d)\.(\d{1,6})$/;
const DURATION = /^\d+(\.\d+)?$/;
const HASH = /^[A-Za-z0-9_-]{43}$/;
const TEMP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The parts of a segment name, or null when it is not one: a name that parses is made only of
 * digits, letters, `:`, `.`, `-` and `_`, so it cannot leave its hour directory.
 */
export function parseSegmentName(name: string): SegmentName | null {
  if (!name.endsWith('.ts')) return null;
  const body = name.slice(0, -3);
  const a = body.indexOf('-');
  const b = body.indexOf('-', a + 1);
  const c = body.indexOf('-', b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  const time = TIME.exec(body.slice(0, a));
  const duration = body.slice(a + 1, b);
  const type = body.slice(b + 1, c) as SegmentType;
  const hash = body.slice(c + 1);
  if (!time || !DURATION.test(duration) || !SEGMENT_TYPES.includes(type)) return null;
  if (type === 'temp' ? !TEMP_ID.test(hash.replaceAll('-', '')) : !HASH.test(hash)) return null;
  const [, mm, ss, frac] = time;
  const minutes = Number(mm);
  const seconds = Number(ss);
  if (minutes > 59 || seconds > 59) return null;
  const offsetMs = (minutes * 60 + seconds) * 1000 + Number((frac as string).padEnd(6, '0')) / 1000;
  return { name, offsetMs, duration: Number(duration), type, hash: type === 'temp' ? null : hash };
}

/** The start of an hour directory, ms since the epoch, or null when `hour` is not `%Y-%m-%dT%H`. */
export function hourStart(hour: string): number | null {
  const m = HOUR.exec(hour);
  if (!m) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  return new Date(t).toISOString().slice(0, 13) === hour ? t : null;
}

/** The hour directory a time falls in. */
export function hourOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** The tombstone of a segment name (`…-HASH.ts` → `…-HASH.tombstone`). */
export function tombstoneOf(segment: string): string {
  return `${segment.slice(0, -3)}.tombstone`;
}

/** The segment a tombstone stands for, or null when the name is not a segment's tombstone. */
export function segmentOfTombstone(name: string): string | null {
  if (!name.endsWith('.tombstone')) return null;
  const segment = `${name.slice(0, -'.tombstone'.length)}.ts`;
  return parseSegmentName(segment) ? segment : null;
}

/** How wubloader names a content hash: SHA-256, unpadded URL-safe base64. */
export function encodeHash(digest: Buffer): string {
  return digest.toString('base64url');
}

export function contentHash(data: Buffer): string {
  return encodeHash(createHash('sha256').update(data).digest());
}
