import { backoffDelay } from '../core/backoff.js';
import { ConflictError } from '../core/errors.js';
import type { Job, JobState, Progress } from '../core/job.js';
import type { CompleteItem } from '../core/reports.js';

/**
 * The rules of a job's life, once for every backend: what an outcome, an expired lease, a cancel
 * and a retry do to a job. Pure; the stores only read the row, ask here and persist the answer.
 */

/** What settling a held job does to it. */
export interface Settlement {
  state: JobState;
  /** When it is due: the backoff's end, now for a given-back job, else its old runAt. */
  runAt: number;
  /** Stored as given; null for none. */
  result: unknown;
  error: string | null;
  /** The report's progress; null keeps the stored one (a report without progress erases nothing). */
  progress: Progress | null;
  /** When it ended; null while it will run again. */
  finishedAt: number | null;
  /** The attempt leaves the job row (the job runs again, or its lease was lost): record it in the history. */
  history: { outcome: 'failed' | 'released' | 'lost'; error: string | null } | null;
  /** A job given back gets its attempt back (max attempts + 1). */
  refundAttempt: boolean;
  /** It held a concurrency key: its end may let another job of that key start. */
  freesSlot: boolean;
}

/** The part of a success that needs no row: a store may settle successes without reading them first. */
export type Success = Pick<Settlement, 'state' | 'result' | 'error' | 'progress' | 'finishedAt'>;

export function successOf(it: CompleteItem, now: number): Success {
  return { state: 'succeeded', result: it.result ?? null, error: null, progress: it.progress ?? null, finishedAt: now };
}

/**
 * What the worker's report `it` does to the held `job`. Success wins over a pending stop;
 * otherwise a stop request decides; a released job is queued at once; a retryable failure with
 * attempts left waits out its backoff; anything else ends the job in the reported outcome.
 */
export function settleReport(job: Job, it: CompleteItem, now: number, random?: () => number): Settlement {
  const freesSlot = job.concurrencyKey !== null;
  if (it.outcome === 'succeeded') return { ...successOf(it, now), runAt: job.runAt, history: null, refundAttempt: false, freesSlot };
  let state: JobState = it.outcome;
  let runAt = job.runAt;
  if (job.stopReason) state = job.stopReason;
  else if (it.release) {
    state = 'queued';
    runAt = now;
  } else if (it.outcome === 'failed' && it.retryable !== false && job.attempt < job.maxAttempts) {
    state = 'waiting';
    runAt = now + backoffDelay(job.attempt, job.backoffMs, job.backoffMaxMs, random);
  }
  const error = it.error ?? (job.stopReason ? `stopped: ${job.stopReason}` : null);
  const again = state === 'waiting' || state === 'queued';
  return {
    state,
    runAt,
    result: it.result ?? null,
    error,
    progress: it.progress ?? null,
    finishedAt: again ? null : now,
    history: again ? { outcome: it.release ? 'released' : 'failed', error } : null,
    refundAttempt: it.release === true && state === 'queued',
    freesSlot,
  };
}

/**
 * A lease not renewed in time: a job asked to stop ends in its stop reason; otherwise it goes
 * back to `queued` (the attempt counts, recorded as lost) or to `failed` when none are left.
 */
export function settleExpiredLease(job: Job, now: number): Settlement {
  const error = `lease expired: worker ${job.lease?.worker ?? '?'} stopped sending heartbeats`;
  const state: JobState = job.stopReason ?? (job.attempt < job.maxAttempts ? 'queued' : 'failed');
  return {
    state,
    runAt: now,
    result: null,
    error,
    progress: null,
    finishedAt: state === 'queued' ? null : now,
    history: { outcome: 'lost', error },
    refundAttempt: false,
    freesSlot: job.concurrencyKey !== null,
  };
}

/** The error of a job canceled before any worker took it. */
export const CANCELED_BEFORE_START = 'canceled before it started';

/**
 * What a cancel does: a job not started yet ends at once (`finish`); a running one is asked to
 * stop (`stop`), once (`none` when it already was). A finished job is a ConflictError.
 */
export function cancelAction(job: Job): 'finish' | 'stop' | 'none' {
  if (job.state === 'waiting' || job.state === 'queued') return 'finish';
  if (job.state === 'running') return job.stopReason ? 'none' : 'stop';
  throw new ConflictError(`job ${job.id} is already ${job.state}`);
}

/** Only a failed, timed-out or canceled job can run again; else a ConflictError. */
export function checkRetry(job: Job): void {
  if (job.state !== 'failed' && job.state !== 'timed_out' && job.state !== 'canceled') {
    throw new ConflictError(`job ${job.id} is ${job.state}; only failed, timed_out or canceled jobs can be retried`);
  }
}
