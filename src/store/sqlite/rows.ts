import type { Job, JobState, StopReason } from '../../core/job.js';

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

export function toJsonOrNull(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}
