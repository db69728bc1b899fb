import { formatBytes } from '../../src/core/bytes.js';

/** 1536 → "1.5 KiB"; "–" for none. */
export function bytes(n: number | undefined | null): string {
  return n === undefined || n === null || !Number.isFinite(n) ? '–' : formatBytes(Math.round(n));
}

/** 75 → "1m 15s". */
export function duration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** An epoch ms as local date and time, to the second. */
export function time(ms: number | null | undefined): string {
  if (!ms) return '–';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago an epoch ms was: "12s ago", "in 5m". */
export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return '–';
  const d = (now - ms) / 1000;
  return d >= 0 ? `${duration(d)} ago` : `in ${duration(-d)}`;
}
