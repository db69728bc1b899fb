import { describe, expect, it } from 'vitest';
import { EncodingManager, MANAGER_DEFAULTS, type ManagerSettings } from '../../src/supervise/encoding-manager.js';
import type { ProgressBlock } from '../../src/supervise/ffmpeg-progress.js';

/** A stream fed with blocks every 500 ms on a made-up clock; `rate` frames/s and `speed` x per block. */
class Feed {
  t = 0;
  frame = 0;
  us = 0;
  size = 0;
  constructor(readonly m: EncodingManager) {}

  /** Runs for `ms` at `fps` frames/s and `speed`; returns the first verdict, if any. */
  run(ms: number, fps: number, speed: number, opts: { frames?: boolean } = {}) {
    for (let end = this.t + ms; this.t < end; ) {
      this.t += 500;
      this.frame += fps / 2;
      this.us += speed * 500_000;
      this.size += 1000;
      this.m.block(block(this.t, opts.frames === false ? null : this.frame, this.us, this.size));
      const v = this.m.tick(this.t);
      if (v) return { at: this.t, ...v };
    }
    return null;
  }
}

function block(at: number, frame: number | null, us: number, size: number): ProgressBlock {
  return { at, frame, fps: null, bitrateKbps: null, totalSize: size, outTimeUs: us, dupFrames: 0, dropFrames: 0, speed: null, end: false, raw: {} };
}

const fast: ManagerSettings = { ...MANAGER_DEFAULTS, failWhen: 'any', startDelayMs: 1000, checkStartDelayMs: 2000, maxErrorMs: 3000, maxStuckMs: 4000, stallMs: 4000 };

describe('EncodingManager (FF WRAPPER\'s manager)', () => {
  it('takes the fps at check start as the baseline and fails below baseline − delta after the error time', () => {
    const f = new Feed(new EncodingManager(fast, 0));
    expect(f.run(5000, 25, 1)).toBeNull();
    expect(f.m.status(f.t)).toMatchObject({ state: 'checking', baselineFps: 25, minFps: 15, minSpeed: 0.85 });
    // Fps 12 and speed 0.5: both problems; the first one named is low fps.
    const v = f.run(10_000, 12, 0.5);
    expect(v?.reason).toBe('low_fps');
    expect(v?.message).toMatch(/fps 12 below 15.*speed 0\.5x below 0\.85x for 3/);
    // The problem started with the first slow block; the verdict comes maxErrorMs later.
    expect(v!.at - 5000).toBeGreaterThanOrEqual(3000);
    expect(v!.at - 5000).toBeLessThanOrEqual(5000);
    expect(f.m.status(f.t).state).toBe('failed');
  });

  it('forgives a problem that ends before the error time', () => {
    const f = new Feed(new EncodingManager(fast, 0));
    f.run(5000, 25, 1);
    expect(f.run(2000, 25, 0.5)).toBeNull();
    expect(f.m.status(f.t).state).toBe('failing');
    expect(f.run(3000, 25, 1)).toBeNull();
    expect(f.m.status(f.t)).toMatchObject({ state: 'checking', errorSince: null, problems: [] });
    expect(f.run(5000, 25, 0.5)?.reason).toBe('low_speed');
  });

  it('fails a baseline below ENCODING_MIN_BASE_FPS', () => {
    const f = new Feed(new EncodingManager(fast, 0));
    expect(f.run(20_000, 10, 1)?.reason).toBe('low_base_fps');
  });

  it('lowers the speed floor to start speed − delta when the stream starts slower than the minimum', () => {
    const f = new Feed(new EncodingManager(fast, 0));
    expect(f.run(8000, 25, 0.6)).toBeNull();
    expect(f.m.status(f.t).minSpeed).toBeCloseTo(0.5);
    expect(f.run(8000, 25, 0.55)).toBeNull();
    expect(f.run(8000, 25, 0.4)?.reason).toBe('low_speed');
  });

  it('checks speed only when ffmpeg gives no frame counts (-c copy)', () => {
    const f = new Feed(new EncodingManager(fast, 0));
    expect(f.run(5000, 0, 1, { frames: false })).toBeNull();
    expect(f.m.status(f.t)).toMatchObject({ baselineFps: null, minSpeed: 0.85 });
    expect(f.run(10_000, 0, 0.3, { frames: false })?.reason).toBe('low_speed');
  });

  it('does not check encoding when disabled, nor before the delays', () => {
    const off = new Feed(new EncodingManager({ ...fast, checkEnabled: false }, 0));
    expect(off.run(20_000, 5, 0.1)).toBeNull();
    const late = new Feed(new EncodingManager({ ...fast, startDelayMs: 5000, checkStartDelayMs: 55_000 }, 0));
    expect(late.run(59_000, 5, 0.1)).toBeNull();
    expect(late.run(5000, 5, 0.1)?.reason).toBe('low_base_fps');
  });

  it('fails a stream by FF WRAPPER\'s rule by default: fps and speed both below their floors', () => {
    const all: ManagerSettings = { ...fast, failWhen: MANAGER_DEFAULTS.failWhen };
    expect(MANAGER_DEFAULTS.failWhen).toBe('all');
    // Speed alone low, or fps alone low: problems of one kind do not count.
    const speed = new Feed(new EncodingManager(all, 0));
    speed.run(5000, 25, 1);
    expect(speed.run(20_000, 25, 0.5)).toBeNull();
    expect(speed.m.status(speed.t)).toMatchObject({ state: 'checking', problems: [] });
    const fps = new Feed(new EncodingManager(all, 0));
    fps.run(5000, 25, 1);
    expect(fps.run(20_000, 12, 1)).toBeNull();
    // Both low: failed after the error time, naming both.
    const both = new Feed(new EncodingManager(all, 0));
    both.run(5000, 25, 1);
    const v = both.run(20_000, 12, 0.5);
    expect(v?.reason).toBe('low_fps');
    expect(v?.message).toMatch(/fps 12 below 15.*speed 0\.5x below 0\.85x for 3/);
    // A low baseline and the checks ffmpeg cannot feed still stand alone.
    expect(new Feed(new EncodingManager(all, 0)).run(20_000, 10, 1)?.reason).toBe('low_base_fps');
    const copy = new Feed(new EncodingManager(all, 0));
    copy.run(5000, 0, 1, { frames: false });
    expect(copy.run(10_000, 0, 0.3, { frames: false })?.reason).toBe('low_speed');
  });

  it('names its next deadline: hung while well, a pending stall, a problem\'s error time; none once failed', () => {
    const f = new Feed(new EncodingManager({ ...fast, checkEnabled: true }, 0));
    f.run(5000, 25, 1);
    expect(f.m.nextDeadline()).toBe(f.t + fast.maxStuckMs);
    // A problem began (the current speed fell below its floor): it fails maxErrorMs later unless it ends.
    expect(f.run(2000, 25, 0.5)).toBeNull();
    const since = f.m.status(f.t).errorSince as number;
    expect(since).not.toBeNull();
    expect(f.m.nextDeadline()).toBe(since + fast.maxErrorMs);
    // A block that does not move: the stall's deadline.
    const still = new EncodingManager({ ...fast, checkEnabled: false }, 0);
    still.block(block(1000, 10, 400_000, 1000));
    still.block(block(1500, 10, 400_000, 1000));
    expect(still.nextDeadline()).toBe(1000 + fast.stallMs);
    expect(still.tick(1000 + fast.stallMs)?.reason).toBe('stalled');
    expect(still.nextDeadline()).toBe(Infinity);
  });

  it('declares ffmpeg hung when nothing is printed for maxStuckMs', () => {
    const m = new EncodingManager(fast, 0);
    m.output(2000);
    expect(m.tick(5999)).toBeNull();
    expect(m.tick(6000)).toMatchObject({ reason: 'hung', message: 'no output for 4 s' });
  });

  it('declares a stall when blocks keep coming but nothing advances', () => {
    const f = new Feed(new EncodingManager({ ...fast, checkEnabled: false }, 0));
    f.run(3000, 25, 1);
    const stuck = { frame: f.frame, us: f.us, size: f.size };
    let v = null;
    for (let t = f.t + 500; !v && t < 20_000; t += 500) {
      f.m.block(block(t, stuck.frame, stuck.us, stuck.size));
      v = f.m.tick(t);
      if (v) expect(t - 3000).toBeGreaterThanOrEqual(4000);
    }
    expect(v?.reason).toBe('stalled');
  });
});
