import { beforeEach, describe, expect, it, vi } from 'vitest';

/** The id's alphabet: base32 without i, l, o, u. */
const ID = /^[0-9a-hjkmnp-tv-z]{16}$/;
const T = Date.UTC(2026, 0, 1); // 01kdvdna00 in the id's base32

// The counter lives in the module: each test takes a fresh copy.
let newJobId: (nowMs?: number) => string;
beforeEach(async () => {
  vi.resetModules();
  ({ newJobId } = await import('../../src/core/ids.js'));
});

/** Throws at the first id not strictly after the one before it (as strings). */
function expectAscending(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!((ids[i] as string) > (ids[i - 1] as string))) expect.fail(`id ${i} (${ids[i]}) does not sort after id ${i - 1} (${ids[i - 1]})`);
  }
}

describe('job ids', () => {
  it('keep their format: 10 chars of milliseconds, 3 of sequence, 3 random', () => {
    const [a, b, c] = [newJobId(T), newJobId(T), newJobId(T + 1)];
    for (const id of [a, b, c]) expect(id).toMatch(ID);
    expect(a?.slice(0, 13)).toBe('01kdvdna00000');
    expect(b?.slice(0, 13)).toBe('01kdvdna00001');
    expect(c?.slice(0, 13)).toBe('01kdvdna01000');
  });

  it('stay unique and in order for 200,000 made within one millisecond (past the 32,768 the sequence holds)', () => {
    const ids = Array.from({ length: 200_000 }, () => newJobId(T));
    expect(new Set(ids).size).toBe(ids.length);
    expectAscending(ids);
    for (const id of [ids[0], ids[32_767], ids[32_768], ids[199_999]]) expect(id).toMatch(ID);
    // The 32,769th borrows the next millisecond rather than wrapping to 000.
    expect(ids[32_768]?.slice(0, 13)).toBe('01kdvdna01000');
  });

  it('go on after the borrowed milliseconds until the clock catches up, then follow it again', () => {
    const ids = Array.from({ length: 200_000 }, () => newJobId(T));
    // 200,000 ids filled T..T+6: the clock's T+1 is behind the logical time.
    ids.push(newJobId(T + 1), newJobId(T + 6));
    expectAscending(ids);
    const caughtUp = newJobId(T + 7);
    expect(caughtUp > (ids[ids.length - 1] as string)).toBe(true);
    expect(caughtUp.slice(0, 13)).toBe('01kdvdna07000');
  });

  it('stay in order when the clock steps back', () => {
    const ids = [newJobId(T + 1000), newJobId(T), newJobId(T - 60_000), newJobId(T + 1000)];
    expect(new Set(ids).size).toBe(4);
    expectAscending(ids);
  });
});
