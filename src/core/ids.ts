import { randomBytes } from 'node:crypto';

/**
 * Job ids sort by creation time: 10 chars of base32 milliseconds, a 3-char sequence within that
 * millisecond, then 3 random chars (16 chars in all). Short enough to type, and a directory named
 * after one lists in order.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** Ids one millisecond holds: 3 base32 chars of sequence, 32^3. */
const PER_MS = 32 ** 3;
/** The millisecond of the last id: logical time, never behind the clock, and ahead of it when borrowed. */
let lastMs = 0;
let seq = 0;

/**
 * A new job id, after every id this process made before (as strings, so lists by id stay in
 * creation order). Past PER_MS (32,768) ids within one millisecond the sequence does not wrap
 * (that repeated ids): it borrows the next millisecond, and later calls go on from there until
 * the clock catches up. A clock that steps back is likewise not followed back.
 * `nowMs`: epoch ms, default Date.now().
 */
export function newJobId(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    seq = 0;
  } else if (++seq >= PER_MS) {
    lastMs++;
    seq = 0;
  }
  let t = lastMs;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  // The per-millisecond sequence keeps ids from one process in creation order.
  let s = seq;
  let counter = '';
  for (let i = 0; i < 3; i++) {
    counter = ALPHABET[s % 32] + counter;
    s = Math.floor(s / 32);
  }
  let tail = '';
  for (let i = 0; i < 3; i++) tail += ALPHABET[randomByte() % 32];
  return time + counter + tail;
}

// Random bytes drawn in blocks: one system call per 4096 ids' worth instead of one per id.
let pool = Buffer.alloc(0);
let poolAt = 0;
/** Where the next `n` bytes of the pool start (a fresh block when too few are left). */
function take(n: number): number {
  if (poolAt + n > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += n;
  return poolAt - n;
}

function randomByte(): number {
  // `take` first: it may replace the pool.
  const at = take(1);
  return pool[at] as number;
}

export function newToken(bytes = 18): string {
  // From the same pool of random bytes as ids: one call to the system's generator per 4 KiB,
  // where one per token cost 15 µs of every claim.
  if (bytes > 4096) return randomBytes(bytes).toString('base64url');
  const at = take(bytes);
  return pool.subarray(at, at + bytes).toString('base64url');
}
