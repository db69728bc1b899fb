import { quoted, ValidationError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `30s`, `2h`, `1h30m`, `500ms` or a bare number of seconds.
 * Returns milliseconds. Throws a ValidationError naming `field` on anything else.
 */
export function parseDuration(input: string | number, field = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new ValidationError(`${field}: must be a non-negative number of seconds, got ${input}`, field);
    return Math.round(input * 1000);
  }
  // Typed so, but read from JSON: an array or an object is as wrong as a bad string.
  if (typeof input !== 'string') throw new ValidationError(`${field}: expected a duration (30s, 15m, 2h) or a number of seconds, got ${quoted(input)}`, field);
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) {
    throw new ValidationError(`${field}: "${input}" is not a duration (expected e.g. 30s, 15m, 2h, 1h30m, 500ms)`, field);
  }
  return Math.round(total);
}

/**
 * A time given as an ISO 8601 date or time (`2026-12-01T18:00`, local unless it says a zone) or
 * as a duration from `now`: ahead with `dir` 1 (`--run-at 10m`), ago with -1 (`--since 1h`).
 * Returns epoch ms; anything else is a ValidationError naming `field`.
 */
export function parseTime(input: string, field: string, now: number, dir: 1 | -1): number {
  const text = input.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  try {
    return now + dir * parseDuration(text, field);
  } catch {
    const eg = dir === 1 ? '10m (from now)' : '1h (ago)';
    throw new ValidationError(`${field}: "${input}" is not a time (expected an ISO 8601 time such as 2026-12-01T18:00, or a duration such as ${eg})`, field);
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${m.toString().padStart(2, '0')}m`;
  if (m > 0) return `${m}m${sec.toString().padStart(2, '0')}s`;
  return `${sec}s`;
}
