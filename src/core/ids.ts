import { randomBytes } from 'node:crypto';

/**
 * Job ids sort by creation time: 10 chars of base32 milliseconds then 6 random chars.
 * Short enough to type, and a directory named after one lists in order.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
let lastMs = 0;
let seq = 0;

export function newJobId(nowMs: number = Date.now()): string {
  if (nowMs === lastMs) seq++;
  else {
    lastMs = nowMs;
    seq = 0;
  }
  let t = nowMs;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  // A per-millisecond sequence keeps ids from one process in creation order.
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
function randomByte(): number {
  if (poolAt >= pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  return pool[poolAt++] as number;
}

export function newToken(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}
