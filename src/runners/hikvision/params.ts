import type { Params } from '../../core/job.js';
import { DEFAULT_DESTINATION, parseDest, type Dest } from '../shared/destination.js';
import { paramReader } from '../shared/param-reader.js';
import { serverOrigin } from './device-url.js';
import { SPLITS, type Split } from './split.js';

/** How clips are foldered below the destination (hikload's `--folders`, and `flat`). */
export const LAYOUTS = ['flat', 'onepercamera', 'oneperday', 'onepermonth', 'oneperyear'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Which span of recordings, in the device's local time unless a time carries its own offset. */
export type Span =
  | { kind: 'between'; start: string; end: string | null }
  | { kind: 'days'; days: number }
  | { kind: 'yesterday' }
  | { kind: 'today' };

/** What a hikvision job asks for, checked. Named as the columns of the task server's spreadsheet. */
export interface HikvisionParams {
  server: string;
  user: string;
  password: string;
  /** Track ids (`101`, `201`), or every main stream the device lists. */
  cameras: string[] | 'all';
  span: Span;
  dest: Dest;
  layout: Layout;
  /** File name pattern: `{track}`, `{start}`, `{end}` (device local, `YYYYMMDDHHMMSS`), `{name}` (the device's). */
  name: string;
  skipExisting: boolean;
  /** The cameras' pictures too (track 103 for camera 101), as `.jpg`. */
  photos: boolean;
  /** Fan out into child jobs, one per camera (or per camera and day), instead of fetching; null: fetch. */
  split: Split | null;
  /** Which clips the span takes: those that overlap it (default), or only those that start in it. */
  clips: 'overlapping' | 'starting';
}

export const HIKVISION_PARAMS = ['server', 'user', 'password', 'cameras', 'start', 'end', 'days', 'yesterday', 'dest', 'layout', 'name', 'skip_existing', 'photos', 'split', 'clips'] as const;

/** The password is always secret; a server URL with a user in it too (it is refused, but must not be shown). */
export function hikvisionSecretsOf(p: Params): string[] {
  return ['password', ...(typeof p.server === 'string' && /@/.test(p.server) ? ['server'] : [])].filter((k) => p[k] !== undefined);
}

/** The picture track of a camera's video track: 103 for 101. */
export function photoTrackOf(track: string): string {
  return track.replace(/\d\d$/, '03');
}

/** A picture track (103, 203...): its recordings are pictures, fetched by a plain GET. */
export function isPhotoTrack(track: string): boolean {
  return /^\d+03$/.test(track);
}

/** `101`, `201` as given; a channel number `1`, `2` is its main stream, `101`, `201`. */
function trackOf(c: string): string | null {
  if (!/^\d{1,5}$/.test(c)) return null;
  return c.length <= 2 ? `${Number(c)}01` : c;
}

const NAME_PLACEHOLDERS = new Set(['track', 'start', 'end', 'name']);

/** Checks a hikvision job's params (at enqueue and on the worker); errors name `${field}.PARAM`. */
export function parseHikvisionParams(p: Params, field = 'params'): HikvisionParams {
  const { fail, str } = paramReader(p, field);
  const text = (name: string): string | undefined => {
    const v = p[name];
    // A spreadsheet cell may hold a number (cameras 101, a port-less server) or a boolean.
    return typeof v === 'number' || typeof v === 'boolean' ? String(v) : str(name);
  };
  const flag = (name: string, dflt: boolean): boolean => {
    const v = text(name);
    if (v === undefined) return dflt;
    if (!/^(true|false|yes|no|1|0)$/i.test(v)) fail(name, `must be true or false, got "${v}"`);
    return /^(true|yes|1)$/i.test(v);
  };

  const server = text('server')?.trim() || fail('server', 'required: the NVR as host, host:port or http(s)://host:port');
  try {
    serverOrigin(server);
  } catch (err) {
    // Not echoed whole when it holds a user: it may carry a password.
    fail('server', /@/.test(server) ? 'must not carry a user (give user and password)' : (err as Error).message.replace(/^server: /, ''));
  }
  const user = text('user')?.trim() || fail('user', 'required: the NVR user');
  const password = text('password') ?? fail('password', 'required: the NVR password');

  const cams = (text('cameras') ?? 'all').trim();
  let cameras: string[] | 'all' = 'all';
  if (cams.toLowerCase() !== 'all') {
    const list = cams.split(/[\s,;]+/).filter(Boolean);
    if (list.length === 0) fail('cameras', 'give track ids (101,201), channel numbers (1,2) or all');
    cameras = [...new Set(list.map((c) => trackOf(c) ?? fail('cameras', `"${c}" is not a track id (101) or channel number (1)`)))];
  }

  const start = text('start');
  const end = text('end');
  const days = text('days');
  const yesterday = flag('yesterday', false);
  const given = [start !== undefined || end !== undefined ? 'start/end' : '', days !== undefined ? 'days' : '', yesterday ? 'yesterday' : ''].filter(Boolean);
  if (given.length > 1) fail(given[1] === 'days' ? 'days' : 'yesterday', `give one of start/end, days and yesterday (this job gives ${given.join(' and ')})`);
  const iso = (name: string, v: string) => {
    // A date, or a time with an optional offset (a date alone is the device's day: no offset).
    if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(v.trim()) || Number.isNaN(Date.parse(v.trim().replace(' ', 'T')))) {
      fail(name, `"${v}" is not a time (expected ISO, e.g. 2021-08-18T06:00:00, in the device's local time)`);
    }
    return v.trim().replace(' ', 'T');
  };
  let span: Span = { kind: 'today' };
  if (start !== undefined || end !== undefined) {
    if (start === undefined) fail('start', 'required with end');
    const s = iso('start', start as string);
    const e = end === undefined ? null : iso('end', end);
    const from = /T/.test(s) ? s : `${s}T00:00:00`;
    const to = e === null ? null : /T/.test(e) ? e : `${e}T23:59:59`;
    // Comparable when both are the device's local time, or both carry offsets.
    const zoned = (t: string) => /(Z|[+-]\d{2}:?\d{2})$/i.test(t);
    if (to !== null && zoned(from) === zoned(to) && (zoned(from) ? Date.parse(to) <= Date.parse(from) : to <= from)) fail('end', `"${end}" is not after start "${start}"`);
    span = { kind: 'between', start: from, end: e };
  } else if (days !== undefined) {
    if (!/^\d{1,4}$/.test(days) || Number(days) < 1) fail('days', `must be a whole number of days from 1, got "${days}"`);
    span = { kind: 'days', days: Number(days) };
  } else if (yesterday) span = { kind: 'yesterday' };

  const dest = parseDest(text('dest') ?? DEFAULT_DESTINATION, field);
  const layout = (text('layout') ?? 'onepercamera') as Layout;
  if (!LAYOUTS.includes(layout)) fail('layout', `"${layout}" is not one of ${LAYOUTS.join(', ')}`);
  const name = text('name') ?? '{start}-{track}.mp4';
  for (const m of name.matchAll(/\{([^}]*)\}/g)) if (!NAME_PLACEHOLDERS.has(m[1] as string)) fail('name', `unknown placeholder {${m[1]}} (known: {track}, {start}, {end}, {name})`);
  if (/[/\\]/.test(name.replace(/\{[^}]*\}/g, ''))) fail('name', `a file name, not a path (the layout makes the folders), got ${JSON.stringify(name.length > 60 ? `${name.slice(0, 48)}…` : name)}`);
  const split = (text('split')?.trim().toLowerCase() || null) as Split | null;
  if (split !== null && !SPLITS.includes(split)) fail('split', `"${text('split')}" is not one of ${SPLITS.join(', ')}`);
  const clips = (text('clips')?.trim().toLowerCase() || 'overlapping') as HikvisionParams['clips'];
  if (clips !== 'overlapping' && clips !== 'starting') fail('clips', `"${text('clips')}" is not one of overlapping, starting`);
  return { server, user, password, cameras, span, dest, layout, name, skipExisting: flag('skip_existing', true), photos: flag('photos', false), split, clips };
}
