import type { Signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import type { Progress } from '../../src/core/job.js';
import { bytes, duration } from './format.js';

export function StateBadge({ state }: { state: string }) {
  return <span class={`state state-${state}`}>{state.replace('_', ' ')}</span>;
}

export function Note({ kind = 'error', children }: { kind?: 'error' | 'info' | 'ok'; children: ComponentChildren }) {
  return (
    <p class={`note note-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

/** The share done, 0..100, from what a runner reports (percent, bytes of total, clips done of all). */
export function percentOf(p: Progress | null): number | null {
  if (!p) return null;
  if (typeof p.percent === 'number') return Math.max(0, Math.min(100, p.percent));
  if (typeof p.bytes === 'number' && typeof p.total === 'number' && p.total > 0) return Math.min(100, (100 * p.bytes) / p.total);
  if (typeof p.clipsDone === 'number' && typeof p.clipsTotal === 'number' && p.clipsTotal > 0) return Math.min(100, (100 * p.clipsDone) / p.clipsTotal);
  return null;
}

/** What a progress says in words: bytes and rate and ETA (downloads), fps and speed (ffmpeg), clips. */
export function progressText(p: Progress | null): string {
  if (!p) return 'starting…';
  const parts: string[] = [];
  if (typeof p.bytes === 'number') parts.push(typeof p.total === 'number' ? `${bytes(p.bytes)} of ${bytes(p.total)}` : bytes(p.bytes));
  if (typeof p.speed === 'number') parts.push(`${bytes(p.speed)}/s`);
  // ffmpeg: frames a second, media speed (1x: real time), media time, restarts of a live recording.
  if (typeof p.fps === 'number') parts.push(`${p.fps} fps`);
  if (typeof p.mediaSpeed === 'number') parts.push(`${p.mediaSpeed}x`);
  if (typeof p.mediaSeconds === 'number') parts.push(`media ${duration(p.mediaSeconds)}`);
  if (typeof p.restarts === 'number' && p.restarts > 0) parts.push(`${p.restarts} restart${p.restarts === 1 ? '' : 's'}`);
  // hikvision: clips done of all.
  if (typeof p.clipsDone === 'number') parts.push(`clips ${p.clipsDone}${typeof p.clipsTotal === 'number' ? `/${p.clipsTotal}` : ''}`);
  if (typeof p.eta === 'number') parts.push(`ETA ${duration(p.eta)}`);
  if (typeof p.message === 'string' && p.message && typeof p.clipsDone !== 'number') parts.push(p.message);
  return parts.join(' · ');
}

/** A job's live progress bar: it reads its own signal, so an event re-renders this bar alone. */
export function ProgressBar({ progress }: { progress: Signal<Progress | null> }) {
  const p = progress.value;
  const pct = percentOf(p);
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct === null ? undefined : Math.round(pct)}>
      <div class={`bar${pct === null ? ' bar-unknown' : ''}`} style={{ width: `${pct === null ? 100 : pct}%` }} />
      <span class="progress-text">
        {pct !== null ? `${pct.toFixed(pct < 10 ? 1 : 0)}% · ` : ''}
        {progressText(p)}
      </span>
    </div>
  );
}

/** Every state, in the order the pages show them: what runs next first (core's JOB_STATES starts with waiting). */
export const SHOWN_STATES = ['queued', 'waiting', 'running', 'awaiting_children', 'succeeded', 'failed', 'timed_out', 'canceled'] as const;
const SERIES = [
  ['succeeded', 'Succeeded'],
  ['failed', 'Failed'],
  ['timed_out', 'Timed out'],
  ['canceled', 'Canceled'],
] as const;

type Bucket = { at: number; succeeded: number; failed: number; canceled: number; timed_out: number };

/** Stacked bars of the jobs that ended per bucket. */
export function FinishedChart({ buckets, bucketMs }: { buckets: Bucket[]; bucketMs: number }) {
  const w = 600;
  const h = 120;
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed + b.canceled + b.timed_out));
  const bw = w / Math.max(1, buckets.length);
  const label = (at: number) => new Date(at).toTimeString().slice(0, 5);
  const total = buckets.reduce((n, b) => n + b.succeeded + b.failed + b.canceled + b.timed_out, 0);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${total} jobs ended, at most ${max} per ${bucketMs / 60000} min`} preserveAspectRatio="none">
        {buckets.map((b, i) => {
          let y = h;
          return (
            <g key={b.at}>
              <title>{`${label(b.at)}: ${b.succeeded} succeeded, ${b.failed} failed, ${b.timed_out} timed out, ${b.canceled} canceled`}</title>
              {SERIES.map(([k]) => {
                const n = b[k];
                if (n === 0) return null;
                const bh = (n / max) * h;
                y -= bh;
                return <rect key={k} class={`s-${k}`} x={i * bw + 0.5} y={y} width={Math.max(1, bw - 1)} height={bh} />;
              })}
            </g>
          );
        })}
      </svg>
      <div class="axis">
        <span>{buckets[0] ? label(buckets[0].at) : ''}</span>
        <span>now</span>
      </div>
      <figcaption>
        {SERIES.map(([k, name]) => (
          <span key={k} class={`legend s-${k}`}>
            {name}
          </span>
        ))}
        <span class="muted"> · peak {max} per {bucketMs >= 3600000 ? `${bucketMs / 3600000} h` : `${bucketMs / 60000} min`}</span>
      </figcaption>
    </figure>
  );
}

/** Counts per state of several rows (queues, owners), in a table. */
export function CountsTable({ rows, name, link }: { rows: Record<string, Record<string, number>>; name: string; link?: (key: string) => string }) {
  const keys = Object.keys(rows);
  if (keys.length === 0) return <p class="muted">No jobs yet.</p>;
  // Only the states some row has: the table stays narrow enough for a phone.
  const states = SHOWN_STATES.filter((s) => keys.some((k) => (rows[k]?.[s] ?? 0) > 0));
  return (
    <div class="scroll">
      <table class="counts">
        <thead>
          <tr>
            <th>{name}</th>
            {states.map((s) => (
              <th key={s} class="num">
                {s.replace('_', ' ')}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k}>
              <td>{link ? <a href={link(k)}>{k || '(none)'}</a> : k || '(none)'}</td>
              {states.map((s) => (
                <td key={s} class="num">
                  {rows[k]?.[s] || ''}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
