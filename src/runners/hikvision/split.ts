import type { LeasedJob, Params } from '../../core/job.js';
import { deviceLocal, type Zone } from './device-clock.js';

/** How a hikvision job fans out: one child job per camera, or per camera and day. */
export const SPLITS = ['camera', 'camera-day'] as const;
export type Split = (typeof SPLITS)[number];

const DAY_MS = 86_400_000;

/** One child of a split: the cameras and span it fetches, as its params give them. */
export interface SplitPart {
  track: string;
  /** Device local time, `YYYY-MM-DDTHH:MM:SS`. */
  start: string;
  end: string;
  /** Clips that overlap its span, or only those that start in it (the days after a split's first). */
  clips: 'overlapping' | 'starting';
}

/**
 * The parts of a split of `tracks` over the search span (UTC `…Z`), in the device's local time:
 * per camera the whole span; per camera and day each device day of it, the first from the
 * span's start, the last to its end. A clip across midnight belongs to the day it starts in:
 * every day after the first takes only clips that start in it, so none is fetched twice.
 */
export function splitParts(split: Split, tracks: readonly string[], span: { start: string; end: string }, zone: Zone): SplitPart[] {
  const from = deviceLocal(Date.parse(span.start), zone);
  const to = deviceLocal(Date.parse(span.end), zone);
  if (split === 'camera') return tracks.map((track) => ({ track, start: from, end: to, clips: 'overlapping' }));
  const days: Array<Omit<SplitPart, 'track'>> = [];
  for (let day = from.slice(0, 10), first = true; day <= to.slice(0, 10); day = nextDay(day), first = false) {
    days.push({ start: first ? from : `${day}T00:00:00`, end: day === to.slice(0, 10) ? to : `${day}T23:59:59`, clips: first ? 'overlapping' : 'starting' });
  }
  return tracks.flatMap((track) => days.map((d) => ({ track, ...d })));
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** The span params a child replaces with its own `start`/`end`. */
const SPAN_PARAMS = ['start', 'end', 'days', 'yesterday', 'split', 'clips'];

/**
 * A part as a job spec (`POST /jobs`'s shape): the parent's params for its camera and span. The
 * coordinator gives it the rest of the parent's settings (attempts, backoff, time limit, key,
 * node, tags), so that a child runs as the parent would have.
 */
export function childSpec(parent: LeasedJob, part: SplitPart): Record<string, unknown> {
  const params: Params = Object.fromEntries(Object.entries(parent.params).filter(([k]) => !SPAN_PARAMS.includes(k)));
  Object.assign(params, { cameras: part.track, start: part.start, end: part.end }, part.clips === 'starting' ? { clips: 'starting' } : {});
  return { kind: 'hikvision', params, secrets: parent.secrets.filter((s) => s in params) };
}
