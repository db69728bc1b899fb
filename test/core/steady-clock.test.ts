import { describe, expect, it } from 'vitest';
import { SteadyClock } from '../../src/core/steady-clock.js';

/** A wall clock and a monotonic one moved by hand. */
function clocks(start = Date.UTC(2026, 11, 3, 12)) {
  const t = { wall: start, mono: 5_000 };
  return {
    t,
    pass(ms: number) {
      t.wall += ms;
      t.mono += ms;
    },
    options: { wall: () => t.wall, monotonic: () => t.mono },
  };
}

describe('SteadyClock', () => {
  it('reads the wall clock, and follows its small corrections at once', () => {
    const c = clocks();
    const clock = new SteadyClock(c.options);
    expect(clock.now()).toBe(c.t.wall);
    c.pass(10_000);
    expect(clock.now()).toBe(c.t.wall);
    // NTP sets it 400 ms forwards: followed.
    c.t.wall += 400;
    expect(clock.now()).toBe(c.t.wall);
  });

  it('keeps its pace through a step of an hour forwards, closing the gap at 5 % of the time passing, and says so once', () => {
    const c = clocks();
    const steps: number[] = [];
    const clock = new SteadyClock({ ...c.options, onStep: (ms) => steps.push(ms) });
    const before = clock.now();
    c.t.wall += 3_600_000;
    c.pass(30_000);
    // A 30 s lease taken before the step: 31.5 s of this clock have passed, not an hour.
    expect(clock.now() - before).toBe(31_500);
    expect(steps).toEqual([3_600_000]);
    for (let i = 0; i < 1_250; i++) {
      c.pass(60_000);
      clock.now();
    }
    // 21 h after, caught up, and following the wall clock again.
    expect(clock.now()).toBe(c.t.wall);
    expect(steps).toHaveLength(1);
  });

  it('keeps its pace through a step back and never runs backwards', () => {
    const c = clocks();
    const clock = new SteadyClock(c.options);
    const before = clock.now();
    c.t.wall -= 3_600_000;
    let last = clock.now();
    for (let i = 0; i < 30; i++) {
      c.pass(1_000);
      const now = clock.now();
      expect(now).toBeGreaterThan(last);
      last = now;
    }
    // 30 s have passed: 28.5 s of this clock, not an hour less.
    expect(last - before).toBe(28_500);
    // A small correction back: the time waits, it does not go back.
    const d = clocks();
    const steady = new SteadyClock(d.options);
    const t0 = steady.now();
    d.t.wall -= 800;
    expect(steady.now()).toBe(t0);
    d.pass(1_000);
    expect(steady.now()).toBe(t0 + 200);
  });

  it('follows a step beyond two hours at once (a night of suspend, a clock set months right), and says so', () => {
    const c = clocks();
    const steps: number[] = [];
    const clock = new SteadyClock({ ...c.options, onStep: (ms) => steps.push(ms) });
    clock.now();
    c.t.wall += 8 * 3_600_000;
    expect(clock.now()).toBe(c.t.wall);
    c.t.wall -= 30 * 86_400_000;
    expect(clock.now()).toBe(c.t.wall);
    expect(steps).toEqual([8 * 3_600_000, -30 * 86_400_000]);
  });
});
