import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyedWakeups, Wakeup, type Turn } from '../../src/coordinator/wakeups.js';

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

describe('waking as many as there is work for', () => {
  const waitAll = (w: Wakeup, n: number, group = '') => Array.from({ length: n }, () => {
    const turn = { value: undefined as number | null | undefined, turn: null as Turn | null };
    void w.waitTurn({ timeoutMs: DAY, group }).then((t) => {
      turn.turn = t;
      turn.value = t?.generation ?? null;
    });
    return turn;
  });

  it('notify(n) wakes the n longest waiting, not all', async () => {
    const w = new Wakeup();
    const turns = waitAll(w, 5);
    w.notify(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(turns.map((t) => t.value)).toEqual([1, 1, undefined, undefined, undefined]);
    expect(w.waiting).toBe(3);
    expect(w.woken).toBe(2);
    w.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(turns.map((t) => t.value)).toEqual([1, 1, 2, 2, 2]);
  });

  it('a wake-up one could not use goes to the oldest of another group that waited before it, once', async () => {
    const w = new Wakeup();
    const [a, b] = waitAll(w, 2, 'video');
    const [c] = waitAll(w, 1, 'downloads');
    w.notify(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(a?.value).toBe(1);
    // a's group (b) would find what a found: the next group is woken instead.
    w.passOn(a?.turn as Turn, 'video');
    await vi.advanceTimersByTimeAsync(0);
    expect(b?.value).toBe(undefined);
    expect(c?.value).toBe(1);
    // Both groups tried (b's among them), and a waiter that began after the notification is not
    // handed it: c passes to no one.
    const [late] = waitAll(w, 1, 'other');
    w.passOn(c?.turn as Turn, 'downloads');
    await vi.advanceTimersByTimeAsync(0);
    expect(late?.value).toBe(undefined);
    expect(b?.value).toBe(undefined);
    expect(w.woken).toBe(2);
  });

  it('a notification that came before the wait began returns at once, and is passed to no one', async () => {
    const w = new Wakeup();
    const [old] = waitAll(w, 1, 'x');
    const since = w.generation;
    w.notify(0);
    const turn = await w.waitTurn({ timeoutMs: DAY, since, group: 'y' });
    expect(turn?.generation).toBe(0);
    w.passOn(turn as Turn, 'y');
    await vi.advanceTimersByTimeAsync(0);
    expect(old?.value).toBe(undefined);
  });
});
