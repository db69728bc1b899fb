import { isFinalState, type Attempt, type Job, type JobState, type StopReason } from '../core/job.js';
import type { ResolvedNewJob } from './store.js';

/** A row of the `jobs` table as better-sqlite3 returns it. */
export interface JobRow {
  id: string;
  queue: string;
  kind: string;
  template: string | null;
  params: string;
  secrets: string;
  owner: string | null;
  tags: string;
  priority: number;
  state: string;
  run_at: number;
  attempt: number;
  max_attempts: number;
  backoff_ms: number;
  backoff_max_ms: number;
  time_limit_ms: number | null;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  node: string | null;
  parent_id: string | null;
  lease_worker: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  deadline_at: number | null;
  stop_reason: string | null;
  progress: string | null;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export function rowToJob(r: JobRow): Job {
  return {
    id: r.id,
    queue: r.queue,
    kind: r.kind,
    template: r.template,
    params: JSON.parse(r.params),
    secrets: JSON.parse(r.secrets),
    owner: r.owner,
    tags: JSON.parse(r.tags),
    priority: r.priority,
    state: r.state as JobState,
    runAt: r.run_at,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    backoffMs: r.backoff_ms,
    backoffMaxMs: r.backoff_max_ms,
    timeLimitMs: r.time_limit_ms,
    concurrencyKey: r.concurrency_key,
    concurrencyLimit: r.concurrency_limit,
    node: r.node,
    parentId: r.parent_id ?? null,
    lease:
      r.lease_worker !== null && r.lease_token !== null && r.lease_expires_at !== null
        ? { worker: r.lease_worker, token: r.lease_token, expiresAt: r.lease_expires_at }
        : null,
    stopReason: r.stop_reason as StopReason | null,
    progress: r.progress === null ? null : JSON.parse(r.progress),
    result: r.result === null ? null : JSON.parse(r.result),
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/**
 * The job a store hands back for a freshly enqueued one: built here, not read back, so a batch
 * costs no second pass over the database. Listed field by field: an object spread here cost more
 * than the SQLite insert itself.
 */
export function newJobOf(j: ResolvedNewJob, now: number): Job {
  return {
    id: j.id,
    queue: j.queue,
    kind: j.kind,
    template: j.template,
    params: j.params,
    secrets: j.secrets,
    owner: j.owner,
    tags: j.tags,
    priority: j.priority,
    runAt: j.runAt,
    maxAttempts: j.maxAttempts,
    backoffMs: j.backoffMs,
    backoffMaxMs: j.backoffMaxMs,
    timeLimitMs: j.timeLimitMs,
    concurrencyKey: j.concurrencyKey,
    concurrencyLimit: j.concurrencyLimit,
    node: j.node,
    parentId: j.parentId,
    state: j.runAt > now ? 'waiting' : 'queued',
    attempt: 0,
    lease: null,
    stopReason: null,
    progress: null,
    result: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
  };
}

export function toJsonOrNull(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

/** The jobs columns in a fixed order, for statements read in raw (array) mode. */
export const JOB_COLUMNS = [
  'id', 'queue', 'kind', 'template', 'params', 'secrets', 'owner', 'tags', 'priority', 'state', 'run_at', 'attempt',
  'max_attempts', 'backoff_ms', 'backoff_max_ms', 'time_limit_ms', 'concurrency_key', 'concurrency_limit', 'lease_worker',
  'lease_token', 'lease_expires_at', 'deadline_at', 'stop_reason', 'progress', 'result', 'error', 'created_at',
  'updated_at', 'started_at', 'finished_at', 'node', 'parent_id',
] as const satisfies ReadonlyArray<keyof JobRow>;

/**
 * A row read as an array in JOB_COLUMNS order (raw mode). Arrays skip the thirty named keys the
 * driver would set per row from C++, which cost more than the query on the claim path.
 */
export function arrayToRow(a: unknown[]): JobRow {
  return {
    id: a[0], queue: a[1], kind: a[2], template: a[3], params: a[4], secrets: a[5], owner: a[6], tags: a[7],
    priority: a[8], state: a[9], run_at: a[10], attempt: a[11], max_attempts: a[12], backoff_ms: a[13],
    backoff_max_ms: a[14], time_limit_ms: a[15], concurrency_key: a[16], concurrency_limit: a[17], lease_worker: a[18],
    lease_token: a[19], lease_expires_at: a[20], deadline_at: a[21], stop_reason: a[22], progress: a[23], result: a[24],
    error: a[25], created_at: a[26], updated_at: a[27], started_at: a[28], finished_at: a[29], node: a[30], parent_id: a[31],
  } as JobRow;
}

/** A job as a row of the jobs table (JSON columns as text). */
export function jobToRow(j: Job): JobRow {
  return {
    id: j.id, queue: j.queue, kind: j.kind, template: j.template, params: JSON.stringify(j.params),
    secrets: JSON.stringify(j.secrets), owner: j.owner, tags: JSON.stringify(j.tags), priority: j.priority, state: j.state,
    run_at: j.runAt, attempt: j.attempt, max_attempts: j.maxAttempts, backoff_ms: j.backoffMs, backoff_max_ms: j.backoffMaxMs,
    time_limit_ms: j.timeLimitMs, concurrency_key: j.concurrencyKey, concurrency_limit: j.concurrencyLimit, node: j.node,
    parent_id: j.parentId ?? null, lease_worker: j.lease?.worker ?? null, lease_token: j.lease?.token ?? null, lease_expires_at: j.lease?.expiresAt ?? null,
    deadline_at: j.startedAt !== null && j.timeLimitMs !== null && j.state === 'running' ? j.startedAt + j.timeLimitMs : null,
    stop_reason: j.stopReason, progress: toJsonOrNull(j.progress), result: toJsonOrNull(j.result), error: j.error,
    created_at: j.createdAt, updated_at: j.updatedAt, started_at: j.startedAt, finished_at: j.finishedAt,
  };
}

/** A row of job_attempts. */
export interface AttemptRow {
  job_id: string;
  attempt: number;
  worker: string;
  started_at: number;
  ended_at: number | null;
  outcome: Attempt['outcome'];
  error: string | null;
}

/**
 * A job's attempts: the stored past ones, then its latest attempt, which lives in the job row
 * unless it was already copied (failed with a retry, lost, released).
 */
export function attemptsOf(rows: AttemptRow[], job: JobRow | undefined): Attempt[] {
  const out: Attempt[] = rows.map((r) => ({ jobId: r.job_id, attempt: r.attempt, worker: r.worker, startedAt: r.started_at, endedAt: r.ended_at, outcome: r.outcome, error: r.error }));
  if (job && job.attempt > 0 && job.started_at !== null && job.lease_worker !== null && !out.some((a) => a.attempt === job.attempt)) {
    const final = isFinalState(job.state as JobState);
    out.push({
      jobId: job.id,
      attempt: job.attempt,
      worker: job.lease_worker,
      startedAt: job.started_at,
      endedAt: final ? job.finished_at : null,
      outcome: final ? (job.state as Attempt['outcome']) : null,
      error: final ? job.error : null,
    });
  }
  return out;
}
