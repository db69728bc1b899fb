import { ValidationError } from '../core/errors.js';
import { JOB_STATES, type JobState } from '../core/job.js';
import type { WorkerView } from '../core/reports.js';
import type { FinishedAnswer, StatsAnswer } from '../protocol/messages.js';
import type { JobStore } from '../store/store.js';

/** The dashboard's charts: an hour in minutes, a day in quarter hours. */
export const FINISHED_WINDOWS = {
  hour: { spanMs: 3_600_000, bucketMs: 60_000 },
  day: { spanMs: 86_400_000, bucketMs: 900_000 },
} as const;

/** The owners `stats` lists, those with the most jobs. */
export const TOP_OWNERS = 50;

/** Jobs that ended per bucket over the window before `now`, every bucket present (zeros too), oldest first. */
export async function finishedPerBucket(store: JobStore, window: string | undefined, now: number): Promise<FinishedAnswer> {
  const w = FINISHED_WINDOWS[(window ?? 'hour') as keyof typeof FINISHED_WINDOWS];
  if (!w) throw new ValidationError(`window: expected hour or day, got "${window}"`, 'window');
  const last = Math.floor(now / w.bucketMs) * w.bucketMs;
  const since = last - w.spanMs + w.bucketMs;
  const buckets: FinishedAnswer['buckets'] = [];
  for (let at = since; at <= last; at += w.bucketMs) buckets.push({ at, succeeded: 0, failed: 0, canceled: 0, timed_out: 0 });
  for (const r of await store.finishedPerBucket({ since, bucketMs: w.bucketMs })) {
    const b = buckets[Math.round((r.at - since) / w.bucketMs)];
    if (b && r.state in b) b[r.state as 'succeeded' | 'failed' | 'canceled' | 'timed_out'] += r.n;
  }
  return { bucketMs: w.bucketMs, since, buckets };
}

/** The `limit` entries with the most jobs in all. */
export function topByTotal(counts: Record<string, Record<JobState, number>>, limit = TOP_OWNERS): Record<string, Record<JobState, number>> {
  const total = (c: Record<JobState, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(counts).sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0])).slice(0, limit));
}

/** Jobs per state, per queue, per owner and ended in the hour before `now`; the workers online and their slots. */
export async function readStats(store: JobStore, workers: () => Promise<WorkerView[]>, now: number): Promise<StatsAnswer> {
  const [counts, queues, owners, ended, all] = await Promise.all([store.counts({}), store.countsByQueue({}), store.countsByOwner({}), store.finishedPerBucket({ since: now - 3_600_000, bucketMs: 3_600_000 }), workers()]);
  const lastHour = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const r of ended) lastHour[r.state] += r.n;
  const online = all.filter((w) => w.online);
  return {
    counts,
    queues,
    owners: topByTotal(owners),
    lastHour,
    workers: { online: online.length, offline: all.length - online.length, slots: online.reduce((n, w) => n + w.slots, 0), running: online.reduce((n, w) => n + w.running, 0) },
  };
}
