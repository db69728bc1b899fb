import { backoffDelay } from '../core/backoff.js';
import { ConflictError } from '../core/errors.js';
import type { Job, JobState, Progress } from '../core/job.js';
import type { CompleteAnswer } from '../core/reports.js';
import type { SettleItem } from './store.js';

/**
 * The rules of a job's life, once for every backend: what an outcome, an expired lease, a cancel
 * and a retry do to a job. Pure; the stores only read the row, ask here and persist the answer.
 */

/** What settling a held job does to it. */
export interface Settlement {
  state: JobState;
  /**
   * When it is due: the backoff's end, else its old runAt — a job given back or whose lease was
   * lost keeps its place in the queue (priority, then runAt, then id), ahead of newer jobs.
   */
  runAt: number;
  /** Stored as given; null for none. */
  result: unknown;
  error: string | null;
  /** The report's progress; null keeps the stored one (a report without progress erases nothing). */
  progress: Progress | null;
  /** When it ended; null while it will run again. */
  finishedAt: number | null;
  /** The attempt leaves the job row (the job runs again, or its lease was lost): record it in the history. */
  history: { outcome: 'succeeded' | 'failed' | 'released' | 'lost'; error: string | null } | null;
  /** The children to create, their parent going to `awaiting_children`; empty for none. */
  children: NonNullable<SettleItem['children']>;
  /** A job given back gets its attempt back (max attempts + 1). */
  refundAttempt: boolean;
  /** It held a concurrency key: its end may let another job of that key start. */
  freesSlot: boolean;
}

/** The part of a success that needs no row: a store may settle successes without reading them first. */
export type Success = Pick<Settlement, 'state' | 'result' | 'error' | 'progress' | 'finishedAt'>;

export function successOf(it: SettleItem, now: number): Success {
  return { state: 'succeeded', result: it.result ?? null, error: null, progress: it.progress ?? null, finishedAt: now };
}

/**
 * What the worker's report `it` does to the held `job`. A success with children sends the job
 * to `awaiting_children` (a pending stop drops the children and decides); a success wins over a
 * pending stop; otherwise a stop request decides; a released job is queued at once; a retryable failure with
 * attempts left waits out its backoff; anything else ends the job in the reported outcome.
 */
export function settleReport(job: Job, it: SettleItem, now: number, random?: () => number): Settlement {
  const freesSlot = job.concurrencyKey !== null;
  const children = it.outcome === 'succeeded' && !job.stopReason ? (it.children ?? []) : [];
  if (children.length > 0) {
    // The attempt did its part; the job's end is its children's. Its row is no longer this
    // attempt's record, so the attempt goes to the history now.
    return { state: 'awaiting_children', runAt: job.runAt, result: it.result ?? null, error: null, progress: it.progress ?? null, finishedAt: null, history: { outcome: 'succeeded', error: null }, refundAttempt: false, freesSlot, children };
  }
  // A stop asked for while the job planned its children wins over them: they are not made.
  if (it.outcome === 'succeeded' && job.stopReason && (it.children?.length ?? 0) > 0) return settleReport(job, { ...it, outcome: job.stopReason, children: [] }, now, random);
  if (it.outcome === 'succeeded') return { ...successOf(it, now), runAt: job.runAt, history: null, refundAttempt: false, freesSlot, children: [] };
  let state: JobState = it.outcome;
  let runAt = job.runAt;
  if (job.stopReason) state = job.stopReason;
  else if (it.release) state = 'queued';
  else if (it.outcome === 'failed' && it.retryable !== false && job.attempt < job.maxAttempts) {
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
    children: [],
  };
}

/** What the history says of an attempt whose outcome came after its lease expired. */
export const REPORTED_LATE = 'reported after its lease expired';

/**
 * A report carrying the token of a lease that expired, for a job no worker has leased since
 * (queued again, or failed when that was its last attempt): the work is done, so it counts, as
 * `settleReport` rules. The key's slot was freed when the lease expired; the attempt's entry in
 * the history (written as lost then) is amended to the outcome, saying it came late.
 */
export function settleLateReport(job: Job, it: SettleItem, now: number, random?: () => number): Settlement & { amend: { outcome: string; error: string } } {
  const s = settleReport({ ...job, stopReason: null }, it, now, random);
  const outcome = it.release ? 'released' : it.outcome;
  return { ...s, freesSlot: false, history: null, amend: { outcome, error: s.error ? `${s.error} (${REPORTED_LATE})` : REPORTED_LATE } };
}

/** The answer to a settled report: with `freesSlot` when it held a key, `parentId` when it is a child. */
export function answerOf(id: string, state: JobState, freesSlot: boolean, parentId: string | null): Extract<CompleteAnswer, { status: 'ok' }> {
  return { id, status: 'ok', state, ...(freesSlot ? { freesSlot: true as const } : {}), ...(parentId !== null ? { parentId } : {}) };
}

/** A lease that ended without a report, ending in `state` with `error`; `refund`: its attempt does not count. */
function lostLease(job: Job, now: number, state: JobState, error: string, refund: boolean): Settlement {
  return {
    state,
    runAt: job.runAt,
    result: null,
    error,
    progress: null,
    finishedAt: state === 'queued' ? null : now,
    history: { outcome: 'lost', error },
    refundAttempt: refund && state === 'queued',
    freesSlot: job.concurrencyKey !== null,
    children: [],
  };
}

/**
 * A lease not renewed in time: a job asked to stop ends in its stop reason; otherwise it goes
 * back to `queued` (the attempt counts, recorded as lost) or to `failed` when none are left.
 */
export function settleExpiredLease(job: Job, now: number): Settlement {
  const state: JobState = job.stopReason ?? (job.attempt < job.maxAttempts ? 'queued' : 'failed');
  return lostLease(job, now, state, `lease expired: worker ${job.lease?.worker ?? '?'} stopped sending heartbeats`, false);
}

/**
 * A lease taken back because its worker's token was revoked: a job asked to stop ends in its stop
 * reason; otherwise it goes back to `queued` at once with its attempt refunded (the job did
 * nothing wrong), recorded as lost.
 */
export function settleRevokedLease(job: Job, now: number): Settlement {
  return lostLease(job, now, job.stopReason ?? 'queued', `lease revoked: the token of worker ${job.lease?.worker ?? '?'} was revoked`, true);
}

/** The error of a job canceled before any worker took it. */
export const CANCELED_BEFORE_START = 'canceled before it started';
/** The error of a parent canceled while its children ran. */
export const CANCELED_WITH_CHILDREN = 'canceled while waiting for its children';

/**
 * What a cancel does: a job not started yet ends at once (`finish`); a parent waiting for its
 * children ends at once and so do they (`cascade`); a running one is asked to stop (`stop`),
 * once (`none` when it already was). A finished job is a ConflictError.
 */
export function cancelAction(job: Job): 'finish' | 'cascade' | 'stop' | 'none' {
  if (job.state === 'waiting' || job.state === 'queued') return 'finish';
  if (job.state === 'awaiting_children') return 'cascade';
  if (job.state === 'running') return job.stopReason ? 'none' : 'stop';
  throw new ConflictError(`job ${job.id} is already ${job.state}`);
}

/** A child as its parent's end is ruled on. */
export interface ChildEnd {
  id: string;
  state: JobState;
  error: string | null;
}

/** At most this many children are named in a parent's error. */
const NAMED_CHILDREN = 10;

/**
 * How a parent whose children have all ended ends: `succeeded` when they all did, else `failed`
 * naming those that did not (the first ten) and why. Its progress counts them.
 */
export function settleParent(children: readonly ChildEnd[]): { state: JobState; error: string | null; progress: Progress } {
  const bad = children.filter((c) => c.state !== 'succeeded');
  const total = children.length;
  const progress: Progress = { children: total, succeeded: total - bad.length, message: `${total - bad.length} of ${total} children succeeded` };
  if (bad.length === 0) return { state: 'succeeded', error: null, progress };
  const named = bad.slice(0, NAMED_CHILDREN).map((c) => `${c.id} ${c.state}${c.error ? ` (${c.error.split('\n')[0]})` : ''}`);
  const more = bad.length > NAMED_CHILDREN ? `; and ${bad.length - NAMED_CHILDREN} more` : '';
  return { state: 'failed', error: `${bad.length} of ${total} children did not succeed: ${named.join('; ')}${more}`, progress };
}

/** Only a failed, timed-out or canceled job can run again; else a ConflictError. */
export function checkRetry(job: Job): void {
  if (job.state !== 'failed' && job.state !== 'timed_out' && job.state !== 'canceled') {
    throw new ConflictError(`job ${job.id} is ${job.state}; only failed, timed_out or canceled jobs can be retried`);
  }
}
