import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delay, longTimeout, MAX_TIMER_MS, sleepFor } from '../../src/core/long-timeout.js';

const DAY = 86_400_000;

// Vitest's fake timers cut delays past 2^31-1 ms to 1 ms, as Node does: a plain setTimeout here
// would fire at once.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('longTimeout', () => {
  it('waits 25 days (past the 24.8 a Node timer holds), not 1 ms', () => {
    const fn = vi.fn();
    longTimeout(fn, 25 * DAY);
    vi.advanceTimersByTime(1000);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(25 * DAY - 1000 - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(100 * DAY);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('fires on time at the edges: MAX_TIMER_MS, one more, several chunks', () => {
    for (const ms of [MAX_TIMER_MS, MAX_TIMER_MS + 1, 3 * MAX_TIMER_MS + 5]) {
      const fn = vi.fn();
      longTimeout(fn, ms);
      vi.advanceTimersByTime(ms - 1);
      expect(fn, `${ms}`).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(fn, `${ms}`).toHaveBeenCalledTimes(1);
    }
  });

  it('short delays behave as setTimeout', () => {
    const fn = vi.fn();
    longTimeout(fn, 50);
    vi.advanceTimersByTime(49);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    const now = vi.fn();
    longTimeout(now, -5);
    longTimeout(now, Number.NaN);
    vi.advanceTimersByTime(1);
    expect(now).toHaveBeenCalledTimes(2);
  });

  it('never fires for Infinity', () => {
    const fn = vi.fn();
    longTimeout(fn, Infinity);
    vi.advanceTimersByTime(3650 * DAY);
    expect(fn).not.toHaveBeenCalled();
  });

  it('cancels before the first chunk ends and between chunks, leaving no timer behind', () => {
    const early = vi.fn();
    longTimeout(early, 30 * DAY).cancel();
    const late = vi.fn();
    const t = longTimeout(late, 30 * DAY);
    vi.advanceTimersByTime(26 * DAY); // into the second chunk
    t.cancel();
    t.cancel();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * DAY);
    expect(early).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
  });

  it('unref returns the handle and the chain still fires', () => {
    const fn = vi.fn();
    const t = longTimeout(fn, 40 * DAY);
    expect(t.unref()).toBe(t);
    vi.advanceTimersByTime(40 * DAY);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('sleepFor and delay', () => {
  it('sleepFor resolves after 30 days, not before; at once on abort', async () => {
    let slept = false;
    void sleepFor(30 * DAY).then(() => (slept = true));
    await vi.advanceTimersByTimeAsync(29 * DAY);
    expect(slept).toBe(false);
    await vi.advanceTimersByTimeAsync(DAY);
    expect(slept).toBe(true);

    const ac = new AbortController();
    const woken = sleepFor(30 * DAY, ac.signal);
    ac.abort();
    await woken;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('delay resolves after 30 days; rejects with an AbortError on abort, and at once when already aborted', async () => {
    let done = false;
    void delay(30 * DAY).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(29 * DAY);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(DAY);
    expect(done).toBe(true);

    const ac = new AbortController();
    const stopped = delay(30 * DAY, ac.signal);
    ac.abort('shutdown');
    await expect(stopped).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'shutdown' });
    expect(vi.getTimerCount()).toBe(0);
    await expect(delay(10, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
