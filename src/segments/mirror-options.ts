import { parseDuration, parseTime } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { MirrorOptions } from './mirror.js';
import { hourStart } from './segment-name.js';
import { isPathPart, MAX_PART_BYTES } from './tree.js';

/** The most hours `hours=N` may ask for. */
const MAX_HOURS = 24 * 366;

/** A mirror's settings as text, from flags (`drover mirror`) or a job's params. */
export interface MirrorFields {
  from?: string;
  channels?: string;
  qualities?: string;
  hours?: string;
  start?: string;
  order?: string;
  recentCutoff?: string;
  concurrency?: string;
  backoff?: string;
}

/** How an error names a field: `--recent-cutoff` for the CLI, `params.recent_cutoff` for a job. */
export type FieldName = (field: keyof MirrorFields) => string;

function namesOf(v: string | undefined, name: string, example: string): string[] {
  if (v === undefined) throw new ValidationError(`${name}: required (comma-separated, e.g. ${example})`, name);
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new ValidationError(`${name}: give at least one name`, name);
  // As JSON: a backslash or control character in it shows as such.
  for (const n of names) {
    const bytes = Buffer.byteLength(n);
    if (bytes > MAX_PART_BYTES) throw new ValidationError(`${name}: "${n.slice(0, 24)}…" is ${bytes} bytes, more than ${MAX_PART_BYTES} for one name`, name);
    if (!isPathPart(n)) throw new ValidationError(`${name}: ${JSON.stringify(n)} is not a plain name`, name);
  }
  return names;
}

/** Peers' URLs from a comma-separated list; shown without credentials in errors. */
export function peerUrlsOf(v: string, name: string): string[] {
  const from = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (from.length === 0) throw new ValidationError(`${name}: give at least one URL`, name);
  for (const u of from) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ValidationError(`${name}: "${u.replace(/\/\/[^/@]*@/, '//***@')}" is not a URL (expected http://HOST:PORT)`, name);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(`${name}: ${url.protocol} is not http: or https:`, name);
  }
  return from;
}

/** Everything of MirrorOptions but `base` and `from`, checked; errors name the field as `name` says. */
export function mirrorSettingsOf(f: MirrorFields, name: FieldName, now = Date.now()): Omit<MirrorOptions, 'base' | 'from'> {
  let hours: MirrorOptions['hours'] = 'all';
  if (f.hours !== undefined && f.hours !== 'all') {
    if (/^\d+$/.test(f.hours)) {
      hours = Number(f.hours);
      if (hours < 1 || hours > MAX_HOURS) throw new ValidationError(`${name('hours')}: a number of hours from 1 to ${MAX_HOURS} (a year)`, name('hours'));
    } else {
      hours = f.hours.split(',').map((h) => h.trim());
      for (const h of hours) if (hourStart(h) === null) throw new ValidationError(`${name('hours')}: "${h}" is not an hour (expected all, a number, or hours like 2019-11-13T02)`, name('hours'));
    }
  }
  const order = f.order ?? 'random';
  if (order !== 'random' && order !== 'forward' && order !== 'reverse') throw new ValidationError(`${name('order')}: expected random, forward or reverse, got "${order}"`, name('order'));
  const concurrency = f.concurrency === undefined ? undefined : Number(f.concurrency);
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64)) throw new ValidationError(`${name('concurrency')}: expected an integer from 1 to 64, got "${f.concurrency}"`, name('concurrency'));
  return {
    channels: namesOf(f.channels, name('channels'), 'desertbus,lrr'),
    qualities: namesOf(f.qualities, name('qualities'), 'source,480p'),
    hours,
    order,
    ...(f.start !== undefined ? { start: parseTime(f.start, name('start'), now, -1) } : {}),
    ...(f.recentCutoff !== undefined ? { recentCutoffMs: parseDuration(f.recentCutoff, name('recentCutoff')) } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(f.backoff !== undefined ? { backoffMs: parseDuration(f.backoff, name('backoff')) } : {}),
  };
}
