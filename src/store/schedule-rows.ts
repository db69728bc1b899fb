import type { Schedule } from '../core/schedule.js';

/** A row of the `schedules` table (both backends; booleans as 0/1 in SQLite). */
export interface ScheduleRow {
  name: string;
  every_ms: number | null;
  cron: string | null;
  timezone: string | null;
  job: string;
  paused: number | boolean;
  source: string;
  next_run_at: number;
  last_run_at: number | null;
  last_job_id: string | null;
  last_skip: string | null;
  created_at: number;
  updated_at: number;
}

export const SCHEDULE_COLUMNS = ['name', 'every_ms', 'cron', 'timezone', 'job', 'paused', 'source', 'next_run_at', 'last_run_at', 'last_job_id', 'last_skip', 'created_at', 'updated_at'] as const;

export function rowToSchedule(r: ScheduleRow): Schedule {
  return {
    name: r.name,
    everyMs: r.every_ms === null ? null : Number(r.every_ms),
    cron: r.cron,
    timezone: r.timezone,
    job: JSON.parse(r.job) as Record<string, unknown>,
    paused: r.paused === true || r.paused === 1,
    source: r.source === 'config' ? 'config' : 'api',
    nextRunAt: Number(r.next_run_at),
    lastRunAt: r.last_run_at === null ? null : Number(r.last_run_at),
    lastJobId: r.last_job_id,
    lastSkip: r.last_skip,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** The row's values in SCHEDULE_COLUMNS order; `paused` as the backend wants it. */
export function scheduleValues(s: Schedule, paused: (b: boolean) => unknown): unknown[] {
  return [s.name, s.everyMs, s.cron, s.timezone, JSON.stringify(s.job), paused(s.paused), s.source, s.nextRunAt, s.lastRunAt, s.lastJobId, s.lastSkip, s.createdAt, s.updatedAt];
}

/** A firing: the schedule's next due time moves from `from` to `to` (only if it still is `from`: one coordinator fires it). */
export interface ScheduleAdvance {
  name: string;
  from: number;
  to: number;
  firedAt: number;
  /** The job it enqueued; null when it enqueued none (`skip` says why). */
  jobId: string | null;
  skip: string | null;
  /** Only records `jobId`/`skip` of a firing already taken: done even if it was paused meanwhile. */
  recordOnly?: boolean;
}

/** The columns a definition change writes; a firing's (next run, last run, last job) stay as they are. */
export const DEFINITION_COLUMNS = ['every_ms', 'cron', 'timezone', 'job', 'paused', 'source', 'updated_at'] as const;
