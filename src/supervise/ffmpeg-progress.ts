/**
 * One block of ffmpeg's `-progress` output (`key=value` lines ending in `progress=continue` or
 * `progress=end`). Values ffmpeg gives as `N/A`, or cannot have meant (an old build's huge
 * negative out_time at the start), are null.
 */
export interface ProgressBlock {
  frame: number | null;
  /** ffmpeg's own fps: an average over the whole run. See `ratesBetween` for the current one. */
  fps: number | null;
  /** kbit/s, ffmpeg's average. */
  bitrateKbps: number | null;
  /** Bytes written so far. */
  totalSize: number | null;
  /** Media time written, µs. */
  outTimeUs: number | null;
  dupFrames: number | null;
  dropFrames: number | null;
  /** ffmpeg's speed (media seconds per wall second), an average over the whole run. */
  speed: number | null;
  /** The last block: ffmpeg is done. */
  end: boolean;
  /** When the block was complete, ms on the supervisor's clock. */
  at: number;
  /** Every key as ffmpeg sent it, trimmed (stream_0_0_q and the like). */
  raw: Record<string, string>;
}

/** Current rates from the change between two blocks (ffmpeg's own are run averages). */
export interface Rates {
  /** Frames per wall second since the previous block; null without frame counts. */
  fps: number | null;
  /** Media seconds per wall second since the previous block. */
  speed: number | null;
  /** Bytes per wall second since the previous block. */
  bytesPerSec: number | null;
}

/** Reads `-progress` lines (already split, any line ending) into blocks. */
export class ProgressReader {
  private raw: Record<string, string> = {};

  constructor(
    private readonly onBlock: (b: ProgressBlock) => void,
    /** ms; injected so tests control time. Default Date.now. */
    private readonly clock: () => number = Date.now,
  ) {}

  line(text: string): void {
    const eq = text.indexOf('=');
    if (eq <= 0) return;
    const key = text.slice(0, eq).trim();
    const value = text.slice(eq + 1).trim();
    if (key !== 'progress') {
      this.raw[key] = value;
      return;
    }
    const raw = this.raw;
    this.raw = {};
    this.onBlock(toBlock(raw, value === 'end', this.clock()));
  }
}

function toBlock(raw: Record<string, string>, end: boolean, at: number): ProgressBlock {
  return {
    frame: count(raw.frame),
    fps: num(raw.fps),
    bitrateKbps: num(raw.bitrate?.replace(/kbits\/s$/, '')),
    totalSize: count(raw.total_size),
    outTimeUs: outTime(raw),
    dupFrames: count(raw.dup_frames),
    dropFrames: count(raw.drop_frames),
    speed: num(raw.speed?.replace(/x$/, '')),
    end,
    at,
    raw,
  };
}

/** A non-negative number, or null for N/A, empty or garbage. */
function num(v: string | undefined): number | null {
  if (v === undefined) return null;
  const t = v.trim();
  if (t === '' || t === 'N/A') return null;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function count(v: string | undefined): number | null {
  const n = num(v);
  return n === null ? null : Math.floor(n);
}

/**
 * out_time_us; else out_time_ms, which despite its name is µs too; else out_time (HH:MM:SS.frac).
 * Negative times (old builds, at the start) are null.
 */
function outTime(raw: Record<string, string>): number | null {
  const us = num(raw.out_time_us) ?? num(raw.out_time_ms);
  if (us !== null) return us;
  const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(raw.out_time?.trim() ?? '');
  return m ? Math.round((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1e6) : null;
}

/** The last blocks over about `windowMs` (and one before), for current rates. */
export class RateWindow {
  private readonly blocks: ProgressBlock[] = [];

  constructor(private readonly windowMs: number) {}

  push(b: ProgressBlock): void {
    this.blocks.push(b);
    // Keep one block older than the window as the start of the measurement.
    while (this.blocks.length > 2 && (this.blocks[1] as ProgressBlock).at <= b.at - this.windowMs) this.blocks.shift();
  }

  newest(): ProgressBlock | undefined {
    return this.blocks.at(-1);
  }

  /** Rates from the oldest block kept to the newest; null before two blocks. */
  rates(): Rates {
    const first = this.blocks[0];
    const last = this.blocks.at(-1);
    return first && last && first !== last ? ratesBetween(first, last) : { fps: null, speed: null, bytesPerSec: null };
  }
}

/** The rates between `prev` and `cur`; null where a value is missing or no time passed. */
export function ratesBetween(prev: ProgressBlock, cur: ProgressBlock): Rates {
  const dt = (cur.at - prev.at) / 1000;
  const per = (a: number | null, b: number | null, scale = 1) => (dt > 0 && a !== null && b !== null && b >= a ? (b - a) / scale / dt : null);
  return { fps: per(prev.frame, cur.frame), speed: per(prev.outTimeUs, cur.outTimeUs, 1e6), bytesPerSec: per(prev.totalSize, cur.totalSize) };
}

/**
 * True when nothing moved between the blocks: no frame, no media time, no byte. ffmpeg 7 keeps
 * printing blocks through an input stall, so silence alone does not show one; with `-c copy`
 * there may be no frame counts at all, so all three are looked at.
 */
export function stalledBetween(prev: ProgressBlock, cur: ProgressBlock): boolean {
  const same = (a: number | null, b: number | null) => a === null || b === null || a === b;
  const known = [cur.frame, cur.outTimeUs, cur.totalSize].some((v) => v !== null);
  return known && same(prev.frame, cur.frame) && same(prev.outTimeUs, cur.outTimeUs) && same(prev.totalSize, cur.totalSize);
}
