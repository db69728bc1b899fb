import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/runners/download/limiter.js';

describe('Semaphore', () => {
  it('wakes a live waiter on release even after an earlier waiter gave up', async () => {
    const sem = new Semaphore(1);
    const held = await sem.take();
    const gaveUp = new AbortController();
    const a = sem.take(gaveUp.signal).catch((e: unknown) => e);
    let bGot = false;
    const b = sem.take().then((release) => {
      bGot = true;
      return release;
    });
    gaveUp.abort(new Error('canceled'));
    expect(await a).toBeInstanceOf(Error);
    held();
    const release = await b;
    expect(bGot).toBe(true);
    expect(sem.inUse).toBe(1);
    release();
    expect(sem.inUse).toBe(0);
  });
});
