import type { DeviceTime } from './isapi-xml.js';

/** An offset inferred from the device's clock must be this close to a quarter hour, minutes. */
const INFER_SLACK_MIN = 5;
/** Offsets beyond this are not time zones, minutes (UTC−12 … UTC+14). */
const MAX_OFFSET_MIN = 14 * 60;

/**
 * The device's offset from UTC, minutes east (UTC+3 is 180), from `/ISAPI/System/time`:
 * 1. the offset its `localTime` carries (newer firmware: `…+03:00`);
 * 2. else its wall clock against ours (`now`), rounded to the quarter hour — right across DST,
 *    which the zone string alone is not, as long as its clock is within minutes of true;
 * 3. else the POSIX-style `timeZone` (`CST-3:00:00` is UTC+3: POSIX counts west).
 * Null when none of them tells.
 */
export function deviceOffsetMinutes(t: DeviceTime, now: number): number | null {
  const explicit = offsetOf(t.localTime);
  if (explicit !== null) return explicit;
  const wall = Date.parse(`${t.localTime.replace(' ', 'T')}Z`);
  if (Number.isFinite(wall)) {
    const diff = (wall - now) / 60_000;
    const quarter = Math.round(diff / 15) * 15;
    if (Math.abs(diff - quarter) <= INFER_SLACK_MIN && Math.abs(quarter) <= MAX_OFFSET_MIN) return quarter;
  }
  const m = /^[A-Za-z]{3,}([+-]?)(\d{1,2})(?::(\d{2}))?/.exec(t.timeZone.trim());
  if (!m) return null;
  const west = (Number(m[2]) * 60 + Number(m[3] ?? 0)) * (m[1] === '-' ? -1 : 1);
  return Math.abs(west) <= MAX_OFFSET_MIN ? -west : null;
}

/** The offset an ISO time carries (`Z` is 0), minutes east; null when it has none. */
export function offsetOf(iso: string): number | null {
  const m = /(Z|([+-])(\d{2}):?(\d{2}))$/i.exec(iso.trim());
  if (!m) return null;
  if (m[1]?.toUpperCase() === 'Z') return 0;
  return (m[2] === '-' ? -1 : 1) * (Number(m[3]) * 60 + Number(m[4]));
}

/**
 * A time for a search, as the devices read it: UTC with `Z`. `iso` is in the device's local time
 * unless it carries an offset or `Z` of its own, which is honoured. Throws naming a bad time.
 */
export function searchTime(iso: string, deviceOffsetMin: number): string {
  const own = offsetOf(iso);
  const ms = own === null ? Date.parse(`${iso.trim()}Z`) - deviceOffsetMin * 60_000 : Date.parse(iso.trim());
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?/.test(iso.trim())) throw new Error(`"${iso}" is not a time (expected ISO, e.g. 2021-08-18T06:00:00, in the device's local time)`);
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** A UTC time as the device's wall clock shows it, `YYYY-MM-DDTHH:MM:SS` (for file names and folders). */
export function deviceLocal(utcMs: number, deviceOffsetMin: number): string {
  return new Date(utcMs + deviceOffsetMin * 60_000).toISOString().slice(0, 19);
}
