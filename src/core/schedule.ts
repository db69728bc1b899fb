import { Cron } from 'croner';
import { ValidationError } from './errors.js';

/**
 * A recurring job: every `everyMs`, or at the times a cron expression names (in `timezone`),
 * the job `job` (a JobSpec as the API takes it) is enqueued, unless the one it enqueued last
 * is still waiting, queued or running.
 */
export interface Schedule {
  name: string;
  /** Period, ms; null with a cron expression. */
  everyMs: number | null;
  /** Five or six fields (`*\/5 * * * *`); null with a period. */
  cron: string | null;
  /** IANA name for the cron expression's times, e.g. Europe/Berlin; null: UTC. */
  timezone: string | null;
  /** What to enqueue: kind or template, params, queue, node… as `POST /jobs` takes it. */
  job: Record<string, unknown>;
  paused: boolean;
  /** `config` (drover.yaml, replaced at each start and reload) or `api`. */
  source: 'config' | 'api';
  /** When it fires next, ms since the epoch. */
  nextRunAt: number;
  lastRunAt: number | null;
  /** The job it enqueued last. */
  lastJobId: string | null;
  /** Why its last firing enqueued nothing (the job spec no longer valid, the previous job still running…). */
  lastSkip: string | null;
  createdAt: number;
  updatedAt: number;
}

export const SCHEDULE_NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** Checks a cron expression and time zone; the error names the field. */
export function checkCron(expr: string, timezone: string | null, field = 'cron'): void {
  try {
    new Cron(expr, { timezone: timezone ?? 'Etc/UTC', paused: true });
  } catch (err) {
    const m = (err as Error).message;
    if (timezone !== null && /time ?zone/i.test(m)) throw new ValidationError(`timezone: "${timezone}" is not an IANA time zone (e.g. Europe/Berlin)`, 'timezone');
    throw new ValidationError(`${field}: "${expr}" is not a cron expression (${m})`, field);
  }
  if (timezone !== null) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      throw new ValidationError(`timezone: "${timezone}" is not an IANA time zone (e.g. Europe/Berlin)`, 'timezone');
    }
  }
}

/**
 * The first due time strictly after `after` (ms). A period counts from `anchor` (its first due
 * time), so a coordinator that was down fires once for all the times it missed, then keeps the beat.
 */
export function nextDue(s: Pick<Schedule, 'everyMs' | 'cron' | 'timezone'>, after: number, anchor: number): number {
  if (s.everyMs !== null) {
    if (after < anchor) return anchor;
    return anchor + (Math.floor((after - anchor) / s.everyMs) + 1) * s.everyMs;
  }
  const next = new Cron(s.cron as string, { timezone: s.timezone ?? 'Etc/UTC', paused: true }).nextRun(new Date(after));
  // An expression with no future time (a date long past): never again.
  return next ? next.getTime() : Number.MAX_SAFE_INTEGER;
}
