import { backoffDelay } from '../core/backoff.js';
import type { Job, JobState } from '../core/job.js';
import type { CompleteItem } from './store.js';

/**
 * The state a held job moves to when its worker reports `it` — the same rule for every backend.
 * Success wins over a pending stop; otherwise a stop request decides; a released job is queued
 * at once; a retryable failure with attempts left waits out its backoff.
 */
export function nextStateAfter(job: Job, it: CompleteItem, now: number, random?: () => number): { state: JobState; runAt: number } {
  if (it.outcome === 'succeeded') return { state: 'succeeded', runAt: job.runAt };
  if (job.stopReason) return { state: job.stopReason, runAt: job.runAt };
  if (it.release) return { state: 'queued', runAt: now };
  if (it.outcome === 'failed' && it.retryable !== false && job.attempt < job.maxAttempts) {
    return { state: 'waiting', runAt: now + backoffDelay(job.attempt, job.backoffMs, job.backoffMaxMs, random) };
  }
  return { state: it.outcome, runAt: job.runAt };
}
