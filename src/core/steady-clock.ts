import type { Clock } from './clock.js';

export interface SteadyClockOptions {
  /** The system's wall clock, epoch ms. Default Date.now. */
  wall?: () => number;
  /** A monotonic clock, ms (its origin does not matter). Default performance.now. */
  monotonic?: () => number;
  /** A difference from the wall clock up to this is followed at once (NTP's small corrections), ms. Default 1000. */
  followMs?: number;
  /** A larger one (a step) is closed at this rate: 0.05 adds or takes 3 s a minute. Default 0.05. */
  slew?: number;
  /**
   * A step larger than this is followed at once, ms. Default 2 h. Closing it at `slew` would
   * keep the time wrong for days (a VM resumed after a night, a board without a clock that
   * started before NTP), and every lease would be long expired in real time anyway.
   */
  maxSlewMs?: number;
  /** Told once per step, with its size (ms, positive forwards). */
  onStep?: (stepMs: number) => void;
}

/**
 * Wall-clock time that a step of the system clock does not jump: the coordinator's leases,
 * deadlines and schedules are epoch times, so a clock set an hour forwards would expire every
 * lease at once (and every job would run twice), and an hour back would keep a dead worker's
 * jobs for an hour. It runs on the monotonic clock from the wall clock's reading; small
 * differences (NTP's corrections) it follows at once, a step it closes at `slew` of the time
 * passing (an hour in 20 h by default), so a 30 s lease lasts 28.5 to 31.5 s meanwhile and
 * the time never runs backwards; a step beyond `maxSlewMs` (2 h) it follows at once.
 */
export class SteadyClock implements Clock {
  private readonly wall: () => number;
  private readonly mono: () => number;
  private readonly followMs: number;
  private readonly slew: number;
  private readonly maxSlewMs: number;
  private readonly onStep: (stepMs: number) => void;
  /** steady time = base + monotonic. */
  private base: number;
  private lastMono: number;
  private last: number;
  private stepping = false;

  constructor(o: SteadyClockOptions = {}) {
    this.wall = o.wall ?? Date.now;
    this.mono = o.monotonic ?? (() => performance.now());
    this.followMs = o.followMs ?? 1_000;
    this.slew = o.slew ?? 0.05;
    this.maxSlewMs = o.maxSlewMs ?? 2 * 3_600_000;
    this.onStep = o.onStep ?? (() => {});
    this.lastMono = this.mono();
    this.base = this.wall() - this.lastMono;
    this.last = this.base + this.lastMono;
  }

  now(): number {
    const m = this.mono();
    const elapsed = Math.max(0, m - this.lastMono);
    this.lastMono = m;
    const off = this.wall() - (this.base + m);
    if (Math.abs(off) <= this.followMs || Math.abs(off) > this.maxSlewMs) {
      if (Math.abs(off) > this.maxSlewMs) this.onStep(Math.round(off));
      this.base += off;
      this.stepping = false;
      // A jump back is followed too: the time may then run backwards, once.
      if (off < -this.followMs) this.last = Math.round(this.base + m);
    } else {
      if (!this.stepping) this.onStep(Math.round(off));
      this.stepping = true;
      const move = Math.min(Math.abs(off), elapsed * this.slew);
      this.base += Math.sign(off) * move;
    }
    // Never backwards: a small correction back waits for the time to catch up.
    this.last = Math.max(this.last, Math.round(this.base + m));
    return this.last;
  }
}
