import { ConflictError } from '../core/errors.js';
import type { Job } from '../core/job.js';
import type { ResolvedNewJob } from './store.js';

/** How long an enqueue's idempotency key is remembered, ms: 24 h. */
export const ENQUEUE_KEY_TTL_MS = 24 * 3_600_000;

/**
 * An enqueue under idempotency keys. `request`: the whole request's key (the Idempotency-Key
 * header) and a fingerprint of its body: the same key again within the TTL answers the jobs the
 * first request made and creates nothing; with another body it is a ConflictError. `jobKeys[i]`:
 * job i's own key (`key` in a batch): a job made under that key within the TTL is answered in
 * its place, and not made again. `uniqueKeys[i]`: while a job made under that unique key has not
 * ended (waiting, queued, running, awaiting children), it is answered in job i's place, however
 * long ago it was made; once it ended, a new one is made (BullMQ's deduplication).
 */
export interface KeyedEnqueue {
  jobs: ResolvedNewJob[];
  now: number;
  request?: { key: string; fingerprint: string };
  jobKeys?: ReadonlyArray<string | null>;
  uniqueKeys?: ReadonlyArray<string | null>;
}

export interface KeyedEnqueueResult {
  /** In input order: the new jobs, or the ones made before under the same keys. */
  jobs: Job[];
  /** Per job: made by this call. */
  created: boolean[];
  /** The request's key was seen before: nothing was made. */
  replayed: boolean;
}

/** The stored key of a request's and of a job's idempotency key (one table holds both). */
export const requestKeyOf = (key: string) => `request:${key}`;
export const jobKeyOf = (key: string) => `job:${key}`;
export const uniqueKeyOf = (key: string) => `unique:${key}`;

export function keyReusedError(key: string): ConflictError {
  return new ConflictError(`Idempotency-Key "${key.slice(0, 80)}" was used within 24 h for another request (another body); use a new key for a new request`);
}

/** A stored key, as both stores read it. */
export interface EnqueueKeyRow {
  fingerprint: string | null;
  job_ids: string;
}
