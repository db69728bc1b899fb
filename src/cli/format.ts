import { formatDuration } from '../core/duration.js';
import type { Job, JobState, Progress } from '../core/job.js';
import type { CountFilter } from '../core/job-filter.js';
import { plural } from '../core/plural.js';
import { formatBytes } from '../core/bytes.js';

export { plural };
export { formatBytes };

/** One short line for a job's progress: bytes/total, percent, speed, ETA, fps, media speed and time, message. */
export function formatProgress(p: Progress | null): string {
  if (!p) return '';
  const parts: string[] = [];
  if (typeof p.bytes === 'number') parts.push(typeof p.total === 'number' ? `${formatBytes(p.bytes)}/${formatBytes(p.total)}` : formatBytes(p.bytes));
  if (typeof p.percent === 'number') parts.push(`${p.percent.toFixed(1)}%`);
  if (typeof p.speed === 'number') parts.push(`${formatBytes(p.speed)}/s`);
  if (typeof p.eta === 'number') parts.push(`ETA ${formatDuration(p.eta * 1000)}`);
  if (typeof p.fps === 'number') parts.push(`${p.fps} fps`);
  if (typeof p.mediaSpeed === 'number') parts.push(`${p.mediaSpeed}x`);
  if (typeof p.mediaSeconds === 'number') parts.push(`media ${mediaTime(p.mediaSeconds)}`);
  if (typeof p.restarts === 'number') parts.push(plural(p.restarts, 'restart'));
  if (typeof p.message === 'string' && p.message.length > 0) parts.push(p.message);
  return parts.join('  ');
}

/** Media time as H:MM:SS (ffmpeg's out_time, to the second). */
function mediaTime(seconds: number): string {
  const t = Math.floor(seconds);
  return `${Math.floor(t / 3600)}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

export function ago(t: number | null, now = Date.now()): string {
  return t === null ? '' : `${formatDuration(Math.max(0, now - t))} ago`;
}

/**
 * A plain text table; columns padded to their widest cell, the last column unpadded. Given a
 * `width` (a terminal's columns), the `flexible` columns are cut (with …), widest first, down to
 * 8 characters or their header, until the lines fit; the others are never cut.
 */
export function table(header: string[], rows: string[][], fit?: { width: number; flexible: number[] }): string {
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
  if (fit) shrink(widths, header, fit.width, fit.flexible);
  const cell = (c: string, i: number) => (c.length > (widths[i] as number) ? c.slice(0, (widths[i] as number) - 1) + '…' : c);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? cell(c, i) : cell(c, i).padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function shrink(widths: number[], header: string[], width: number, flexible: number[]): void {
  const min = (i: number) => Math.max(8, (header[i] ?? '').length);
  let over = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) - width;
  while (over > 0) {
    const i = flexible.filter((c) => (widths[c] as number) > min(c)).sort((a, b) => (widths[b] as number) - (widths[a] as number))[0];
    if (i === undefined) return;
    widths[i] = (widths[i] as number) - 1;
    over--;
  }
}

export function jobWhat(j: Job): string {
  return j.template ? `${j.kind}:${j.template}` : j.kind;
}

/** Elapsed for running jobs, run time for finished ones, the time left for waiting ones. */
export function jobTime(j: Job, now = Date.now()): string {
  if (j.state === 'waiting') return `in ${formatDuration(Math.max(0, j.runAt - now))}`;
  if (j.state === 'running' && j.startedAt !== null) return formatDuration(now - j.startedAt);
  if (j.finishedAt !== null && j.startedAt !== null) return formatDuration(j.finishedAt - j.startedAt);
  return '';
}

/**
 * A row of `drover jobs` (JOB_HEADER); `waiting`: why a queued job waits (no online worker can
 * run it). Params and detail are one line each, at most 70 characters (a terminal may cut more).
 */
export function jobRow(j: Job, now = Date.now(), waiting?: string): string[] {
  const detail = j.state === 'running' ? formatProgress(j.progress) + (j.stopReason ? ` (stopping: ${j.stopReason})` : '') : waiting !== undefined ? `waiting: ${waiting}` : (j.error ?? '');
  return [j.id, j.state, jobWhat(j), j.owner ?? '', `${j.attempt}/${j.maxAttempts}`, jobTime(j, now), oneLine(paramsText(j.params), 70), oneLine(detail, 70)];
}
export const JOB_HEADER = ['ID', 'STATE', 'KIND', 'OWNER', 'TRY', 'TIME', 'PARAMS', 'PROGRESS / ERROR'];
/** The columns of JOB_HEADER a narrow terminal may cut: params, then progress/error. */
export const JOB_FLEXIBLE = [6, 7];

/** Params that tell one job from its neighbours: shown first, so a narrow column keeps them. */
const LEADING_PARAMS = ['url', 'input', 'output', 'name'];

/** `key=value` pairs as the coordinator shows them (secrets already hidden), the telling ones first. */
export function paramsText(params: Record<string, unknown>): string {
  const rank = (k: string) => (LEADING_PARAMS.includes(k) ? LEADING_PARAMS.indexOf(k) : LEADING_PARAMS.length);
  return Object.entries(params)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

export function oneLine(s: string, max: number): string {
  const l = s.replace(/\s+/g, ' ').trim();
  return l.length > max ? l.slice(0, max - 1) + '…' : l;
}

export function countsLine(c: Record<JobState, number>): string {
  return (Object.entries(c) as Array<[JobState, number]>)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ') || 'no jobs';
}

/** A filter as the flags that give it (`--tag T --since 2026-…`), for "no jobs match …". */
export function describeFilter(f: CountFilter & { state?: readonly string[] }): string {
  return Object.entries(f)
    .map(([k, v]) => `--${k} ${k === 'since' ? new Date(v as number).toISOString() : Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
}

