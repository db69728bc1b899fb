import { RateWindow, stalledBetween, type ProgressBlock, type Rates } from './ffmpeg-progress.js';

/** The FF WRAPPER manager's settings (its environment variables), times in ms. */
export interface ManagerSettings {
  /** Nothing is checked before this, counted from the start of ffmpeg. MANAGER_START_DELAY, default 5 s. */
  startDelayMs: number;
  /** The encoding check starts this long after the manager, ENCODING_CHECK_START_DELAY, default 55 s. */
  checkStartDelayMs: number;
  /** ENCODING_DISABLE_CHECK unset. Hung and stall checks run either way. */
  checkEnabled: boolean;
  /** ENCODING_MIN_SPEED, default 0.85. */
  minSpeed: number;
  /** When the speed at check start is already below minSpeed, the floor is that speed minus this. Default 0.1. */
  deltaSpeed: number;
  /** The floor is baseline fps minus this. ENCODING_DELTA_FPS, default 10. */
  deltaFps: number;
  /** A problem must last this long before the stream counts as failed. ENCODING_MAX_ERROR_TIME, default 10 s. */
  maxErrorMs: number;
  /** A baseline fps below this is itself a problem. ENCODING_MIN_BASE_FPS, default 14. */
  minBaseFps: number;
  /** No output at all for this long: hung. ENCODING_MAX_STDOUT_STUCK_TIME, default 15 s. */
  maxStuckMs: number;
  /** Blocks keep coming but no frame, media time or byte advances for this long: stalled. Default maxStuckMs. */
  stallMs: number;
  /**
   * `all` (FF WRAPPER's rule, the default): the stream is failing while fps and speed are both
   * below their floors (of those the stream reports: speed alone with `-c copy`). `any`: while
   * either is. A baseline below minBaseFps, hung and stalled fail the stream alone either way.
   * ENCODING_FAIL_WHEN.
   */
  failWhen: FailWhen;
  /** Current fps and speed are measured over about this much recent time. Default 2 s. */
  rateWindowMs: number;
}

export type FailWhen = 'any' | 'all';

export const MANAGER_DEFAULTS: ManagerSettings = {
  startDelayMs: 5_000,
  checkStartDelayMs: 55_000,
  checkEnabled: true,
  minSpeed: 0.85,
  deltaSpeed: 0.1,
  deltaFps: 10,
  maxErrorMs: 10_000,
  minBaseFps: 14,
  maxStuckMs: 15_000,
  stallMs: 15_000,
  failWhen: 'all',
  rateWindowMs: 2_000,
};

export type FailureReason = 'low_fps' | 'low_base_fps' | 'low_speed' | 'stalled' | 'hung';

export interface ManagerVerdict {
  reason: FailureReason;
  /** One line for people, e.g. "speed 0.42x below 0.85x for 10 s". */
  message: string;
}

export type ManagerState = 'starting' | 'watching' | 'checking' | 'failing' | 'failed';

/** What the manager sees now, for `/status`. Rates are current (see rateWindowMs), not ffmpeg's run averages. */
export interface ManagerStatus {
  state: ManagerState;
  baselineFps: number | null;
  minFps: number | null;
  minSpeed: number | null;
  fps: number | null;
  speed: number | null;
  bytesPerSec: number | null;
  /** Since when (ms) the problems below have held, or null. */
  errorSince: number | null;
  problems: string[];
  failure: ManagerVerdict | null;
}

/**
 * FF WRAPPER's manager, fed with output times and `-progress` blocks, asked for a verdict by
 * `tick`. From `startDelayMs` after the start it declares ffmpeg hung when nothing is printed for
 * `maxStuckMs`, and stalled when blocks come but nothing advances for `stallMs` (ffmpeg 7 keeps
 * reporting through an input stall). From `checkStartDelayMs` later, the current fps becomes the
 * baseline and the stream fails when its problems last `maxErrorMs` without a break: a baseline
 * below minBaseFps, or — both with `failWhen: 'all'`, either with `'any'` — fps below baseline −
 * deltaFps and speed below minSpeed (or below the start speed − deltaSpeed when it started
 * slower). Streams without frame counts (`-c copy`) are checked on speed only. Pure: the caller
 * owns the clock and the timer.
 */
export class EncodingManager {
  private readonly window: RateWindow;
  private lastOutputAt: number;
  private lastMoveAt: number;
  private lastBlockAt = -Infinity;
  private baseline: { fps: number | null; minFps: number | null; minSpeed: number | null } | null = null;
  private errorSince: number | null = null;
  private problems: string[] = [];
  private failure: ManagerVerdict | null = null;

  constructor(
    private readonly s: ManagerSettings,
    /** When ffmpeg started, ms. */
    private readonly startedAt: number,
  ) {
    this.lastOutputAt = startedAt;
    this.lastMoveAt = startedAt;
    this.window = new RateWindow(s.rateWindowMs);
  }

  /** A line of output (any stream) came at `at`. */
  output(at: number): void {
    this.lastOutputAt = Math.max(this.lastOutputAt, at);
  }

  block(b: ProgressBlock): void {
    this.output(b.at);
    const prev = this.window.newest();
    if (!prev || !stalledBetween(prev, b)) this.lastMoveAt = b.at;
    this.lastBlockAt = b.at;
    this.window.push(b);
  }

  /**
   * The earliest time `tick` could fail the stream with no new progress block: the hung
   * deadline, a pending stall's, a problem's error time. Otherwise a verdict can only follow a
   * block, so a caller may tick on each block and set one timer for this time instead of ticking
   * every second. Infinity once the stream has failed.
   */
  nextDeadline(): number {
    if (this.failure) return Infinity;
    const managerAt = this.startedAt + this.s.startDelayMs;
    let at = Math.max(managerAt, this.lastOutputAt + this.s.maxStuckMs);
    if (this.lastBlockAt > this.lastMoveAt) at = Math.min(at, Math.max(managerAt, this.lastMoveAt + this.s.stallMs));
    if (this.errorSince !== null) at = Math.min(at, this.errorSince + this.s.maxErrorMs);
    return at;
  }

  /** Looks at everything at time `now`; returns the verdict once the stream has failed (and after). */
  tick(now: number): ManagerVerdict | null {
    if (this.failure) return this.failure;
    const managerAt = this.startedAt + this.s.startDelayMs;
    if (now < managerAt) return null;
    if (now - this.lastOutputAt >= this.s.maxStuckMs) return this.fail({ reason: 'hung', message: `no output for ${secs(now - this.lastOutputAt)}` });
    if (this.lastBlockAt > this.lastMoveAt && now - this.lastMoveAt >= this.s.stallMs) {
      return this.fail({ reason: 'stalled', message: `no frame, media time or byte advanced for ${secs(now - this.lastMoveAt)} while ffmpeg kept reporting` });
    }
    if (!this.s.checkEnabled || now < managerAt + this.s.checkStartDelayMs) return null;
    const r = this.rates();
    if (!this.baseline) {
      if (r.fps === null && r.speed === null) return null;
      const minSpeed = r.speed === null ? null : r.speed < this.s.minSpeed ? r.speed - this.s.deltaSpeed : this.s.minSpeed;
      this.baseline = { fps: r.fps, minFps: r.fps === null ? null : r.fps - this.s.deltaFps, minSpeed };
    }
    const found = this.findProblems(r);
    this.problems = found.map((p) => p.message);
    if (found.length === 0) {
      this.errorSince = null;
      return null;
    }
    this.errorSince ??= now;
    if (now - this.errorSince < this.s.maxErrorMs) return null;
    const first = found[0] as ManagerVerdict;
    return this.fail({ reason: first.reason, message: `${this.problems.join('; ')} for ${secs(now - this.errorSince)}` });
  }

  status(now: number): ManagerStatus {
    const r = this.rates();
    const state: ManagerState = this.failure
      ? 'failed'
      : this.errorSince !== null
        ? 'failing'
        : this.baseline
          ? 'checking'
          : now >= this.startedAt + this.s.startDelayMs
            ? 'watching'
            : 'starting';
    return {
      state,
      baselineFps: this.baseline?.fps ?? null,
      minFps: this.baseline?.minFps ?? null,
      minSpeed: this.baseline?.minSpeed ?? null,
      ...r,
      errorSince: this.errorSince,
      problems: this.problems,
      failure: this.failure,
    };
  }

  /** Current rates over the window; null before two blocks. */
  rates(): Rates {
    return this.window.rates();
  }

  /** The problems that count now: the baseline's alone, then the rate checks by `failWhen`. */
  private findProblems(r: Rates): ManagerVerdict[] {
    const b = this.baseline;
    if (!b) return [];
    const out: ManagerVerdict[] = [];
    if (b.fps !== null && b.fps < this.s.minBaseFps) out.push({ reason: 'low_base_fps', message: `base fps ${fix(b.fps)} below ${this.s.minBaseFps}` });
    let checked = 0;
    const low: ManagerVerdict[] = [];
    if (b.minFps !== null && r.fps !== null) {
      checked++;
      if (r.fps < b.minFps) low.push({ reason: 'low_fps', message: `fps ${fix(r.fps)} below ${fix(b.minFps)} (base ${fix(b.fps ?? 0)} − ${this.s.deltaFps})` });
    }
    if (b.minSpeed !== null && r.speed !== null) {
      checked++;
      if (r.speed < b.minSpeed) low.push({ reason: 'low_speed', message: `speed ${fix(r.speed)}x below ${fix(b.minSpeed)}x` });
    }
    if (this.s.failWhen === 'any' || low.length === checked) out.push(...low);
    return out;
  }

  private fail(v: ManagerVerdict): ManagerVerdict {
    this.failure = v;
    return v;
  }
}

function fix(n: number): string {
  return String(Math.round(n * 100) / 100);
}

function secs(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
