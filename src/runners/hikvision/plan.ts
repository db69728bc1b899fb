import path from 'node:path';
import { sanitizeFileName } from '../shared/file-name.js';
import { deviceLocal, searchTime, type Zone } from './device-clock.js';
import type { SearchMatch } from './isapi-xml.js';
import { isPhotoTrack, type HikvisionParams, type Span } from './params.js';

const DAY_MS = 86_400_000;

/** `YYYY-MM-DDT00:00:00` of the device's day holding `utcMs`, `back` days before. */
function midnight(utcMs: number, offsetMin: Zone | number, back = 0): string {
  return `${deviceLocal(utcMs - back * DAY_MS, offsetMin).slice(0, 10)}T00:00:00`;
}

/**
 * The search's UTC span (`…Z`) for a job's span, on the device's clock (`now`, UTC ms, and its
 * offset): today from 00:00 to now; yesterday 00:00–23:59:59; `days: N` from 00:00 N days ago
 * to now; `start`/`end` as given (end default now).
 */
export function searchSpan(span: Span, now: number, offsetMin: Zone | number): { start: string; end: string } {
  const nowZ = `${new Date(now).toISOString().slice(0, 19)}Z`;
  switch (span.kind) {
    case 'today':
      return { start: searchTime(midnight(now, offsetMin), offsetMin), end: nowZ };
    case 'yesterday':
      return { start: searchTime(midnight(now, offsetMin, 1), offsetMin), end: searchTime(`${midnight(now, offsetMin, 1).slice(0, 10)}T23:59:59`, offsetMin) };
    case 'days':
      return { start: searchTime(midnight(now, offsetMin, span.days), offsetMin), end: nowZ };
    case 'between':
      return { start: searchTime(span.start, offsetMin), end: span.end === null ? nowZ : searchTime(/T/.test(span.end) ? span.end : `${span.end}T23:59:59`, offsetMin) };
  }
}

/** `YYYYMMDDHHMMSS` of a device time. */
const digits = (local: string) => local.replace(/\D/g, '').slice(0, 14);

/** The folder of a device below the destination: its host and port, `10.0.0.5_8000`. */
export function deviceFolder(host: string): string {
  return sanitizeFileName(host.replace(/[:[\]]/g, '_').replace(/^_+|_+$/g, '')) || 'device';
}

/**
 * Where a clip goes below the job's destination directory, relative: the device's folder (so
 * that many NVRs can share a destination), the layout's folders (by camera, then day, month or
 * year, in the device's local time) and the name pattern. Every part is a plain name: a
 * device's odd track id or file name cannot leave the destination.
 */
export function clipPath(m: SearchMatch, p: Pick<HikvisionParams, 'layout' | 'name'>, offsetMin: Zone | number, device: string): string {
  const start = deviceLocal(Date.parse(m.start), offsetMin);
  const end = deviceLocal(Date.parse(m.end), offsetMin);
  const track = sanitizeFileName(m.trackId) || 'track';
  const values: Record<string, string> = { track, start: digits(start), end: digits(end), name: sanitizeFileName(m.fileName ?? '') || digits(start) };
  let file = sanitizeFileName(p.name.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '')) || `${values.start}-${track}.mp4`;
  // A picture is a picture whatever the pattern's extension says.
  if (isPhotoTrack(m.trackId)) file = file.replace(/\.(mp4|mkv|avi|ts)$/i, '') + (/\.jpe?g$/i.test(file) ? '' : '.jpg');
  const folders: Record<HikvisionParams['layout'], string[]> = {
    flat: [],
    onepercamera: [track],
    oneperday: [track, start.slice(0, 10)],
    onepermonth: [track, start.slice(0, 7)],
    oneperyear: [track, start.slice(0, 4)],
  };
  return path.join(deviceFolder(device), ...folders[p.layout], file);
}
