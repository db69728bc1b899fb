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
export function searchTime(iso: string, zone: Zone | number): string {
  const own = offsetOf(iso);
  const wall = Date.parse(`${iso.trim()}Z`);
  // The offset at that wall time: found at a first guess, then at the instant it gives.
  const ms = own === null ? wall - offsetFrom(zone, wall - offsetFrom(zone, wall) * 60_000) * 60_000 : Date.parse(iso.trim());
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?/.test(iso.trim())) throw new Error(`"${iso}" is not a time (expected ISO, e.g. 2021-08-18T06:00:00, in the device's local time)`);
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** A UTC time as the device's wall clock shows it, `YYYY-MM-DDTHH:MM:SS` (for file names and folders). */
export function deviceLocal(utcMs: number, zone: Zone | number): string {
  return new Date(utcMs + offsetFrom(zone, utcMs) * 60_000).toISOString().slice(0, 19);
}

/** A device's offset from UTC at an instant, minutes east. */
export type Zone = (utcMs: number) => number;

const offsetFrom = (z: Zone | number, utcMs: number) => (typeof z === 'number' ? z : z(utcMs));

const CLOCK = '(\\d{1,2})(?::(\\d{2}))?(?::(\\d{2}))?';
const RULE = new RegExp(`^(?:[A-Za-z]{3,}|<[^>]+>)([+-]?)${CLOCK}(?:[A-Za-z]{3,}|<[^>]+>)(?:([+-]?)${CLOCK})?,M(\\d{1,2})\\.(\\d)\\.(\\d)(?:/${CLOCK})?,M(\\d{1,2})\\.(\\d)\\.(\\d)(?:/${CLOCK})?$`);

const minutesOf = (h?: string, m?: string, s?: string) => Number(h ?? 0) * 60 + Number(m ?? 0) + Number(s ?? 0) / 60;

/** Local ms (as if UTC) of the `week`th `day` (0 Sunday; week 5: the last) of `month` in `year`, at `minutes`. */
function ruleDay(year: number, month: number, week: number, day: number, minutes: number): number {
  const dow = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  let date = 1 + ((day - dow + 7) % 7) + (week - 1) * 7;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  while (date > days) date -= 7;
  return Date.UTC(year, month - 1, date) + minutes * 60_000;
}

/**
 * The offsets of a zone string with summer time, e.g. Hikvision's
 * `CET-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00` (UTC+1, an hour more from the last
 * Sunday of March 02:00 to the last Sunday of October 03:00). After the summer name Hikvision
 * writes the hours saved, where POSIX (`EST5EDT4,…`) writes summer's own offset; each is read
 * as what makes sense. Null for a zone without a summer rule.
 */
export function summerZone(timeZone: string): Zone | null {
  const m = RULE.exec(timeZone.trim());
  if (!m) return null;
  const [, sign, h, mi, se, dSign, dh, dmi, dse, sm, sw, sd, sh, smi, sse, em, ew, ed, eh, emi, ese] = m;
  const std = -(sign === '-' ? -1 : 1) * minutesOf(h, mi, se);
  let saving = 60;
  if (dh !== undefined) {
    const posix = -(dSign === '-' ? -1 : 1) * minutesOf(dh, dmi, dse);
    saving = posix > std && posix - std <= 120 ? posix - std : minutesOf(dh, dmi, dse);
  }
  const at = (hh?: string, mm?: string, ss?: string) => (hh === undefined ? 120 : minutesOf(hh, mm, ss));
  return (utc) => {
    const year = new Date(utc + std * 60_000).getUTCFullYear();
    const start = ruleDay(year, Number(sm), Number(sw), Number(sd), at(sh, smi, sse)) - std * 60_000;
    const end = ruleDay(year, Number(em), Number(ew), Number(ed), at(eh, emi, ese)) - (std + saving) * 60_000;
    const summer = start < end ? utc >= start && utc < end : utc >= start || utc < end;
    return std + (summer ? saving : 0);
  };
}

/**
 * The device's zone: its offset now (deviceOffsetMinutes), and across summer time when its zone
 * string has a rule — shifted to agree with the offset now, which its clock says best.
 */
export function deviceZone(t: DeviceTime, now: number): { zone: Zone; known: boolean } {
  const base = deviceOffsetMinutes(t, now);
  const rule = summerZone(t.timeZone);
  if (rule === null) return { zone: () => base ?? 0, known: base !== null };
  const shift = (base ?? rule(now)) - rule(now);
  return { zone: (utc) => rule(utc) + shift, known: true };
}
