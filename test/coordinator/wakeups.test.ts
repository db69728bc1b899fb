import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyedWakeups, Wakeup } from '../../src/coordinator/wakeups.js';

const DAY = 86_400_000;

// Fake timers cut delays past 2^31-1 ms (and Infinity) to 1 ms, as Node does.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('long-poll wake-ups with a long `long_poll`', () => {
  it('a 30-day wait neither ends after 1 ms nor misses its notification', async () => {
    const w = new Wakeup();
    let answer: boolean | null = null;
    void w.wait(30 * DAY).then((a) => (answer = a));
    await vi.advanceTimersByTimeAsync(DAY);
    expect(answer).toBe(null);
    w.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(answer).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out at 30 days, not before; an Infinity wait only ends when woken', async () => {
    const keyed = new KeyedWakeups();
    let answer: boolean | null = null;
    void keyed.wait('w1', 30 * DAY).then((a) => (answer = a));
    await vi.advanceTimersByTimeAsync(30 * DAY - 1);
    expect(answer).toBe(null);
    await vi.advanceTimersByTimeAsync(1);
    expect(answer).toBe(false);
    expect(keyed.waiting('w1')).toBe(0);

    const w = new Wakeup();
    let forever: boolean | null = null;
    void w.wait(Infinity).then((a) => (forever = a));
    await vi.advanceTimersByTimeAsync(365 * DAY);
    expect(forever).toBe(null);
    w.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(forever).toBe(true);
  });
});
