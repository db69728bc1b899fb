import type pg from 'pg';
import type { Job } from '../../core/job.js';
import { rowToJob, toJsonOrNull, type JobRow } from '../rows.js';
import type { CompleteAnswer, CompleteItem } from '../store.js';
import { nextStateAfter } from '../transitions.js';

export const SETTLE = `UPDATE jobs SET state = $2, run_at = $3, result = $4, error = $5, progress = $6, lease_token = NULL,
    lease_expires_at = NULL, deadline_at = NULL, stop_reason = NULL, finished_at = $7, updated_at = $8 WHERE id = $1`;
export const RECORD_ATTEMPT = `INSERT INTO job_attempts (job_id, attempt, worker, started_at, ended_at, outcome, error)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`;

/**
 * Every success in one statement, fenced by the lease token: a success always ends the job, so
 * nothing about the row needs reading first. Returns the ids it settled with their keys.
 */
const SETTLE_SUCCESSES = `UPDATE jobs SET state = 'succeeded', result = u.result::text, error = NULL,
    progress = COALESCE(u.progress::text, jobs.progress), lease_token = NULL, lease_expires_at = NULL, deadline_at = NULL,
    stop_reason = NULL, finished_at = $2, updated_at = $2
  FROM json_to_recordset($1::json) AS u(id text, token text, result json, progress json)
  WHERE jobs.id = u.id AND jobs.lease_token = u.token AND jobs.state = 'running'
  RETURNING jobs.id, jobs.concurrency_key`;

export interface Completed {
  answers: CompleteAnswer[];
  /** A keyed job finished or a job was queued again: long polls elsewhere may now claim. */
  freed: boolean;
}

/**
 * Settles reported outcomes in the caller's transaction. Successes — nearly every item of a busy
 * worker's batch — are one statement; failures, stops and give-backs go one by one, since the
 * next state depends on the row (attempts left, backoff, a pending stop).
 */
export async function completeJobs(c: pg.PoolClient, items: CompleteItem[], now: number, random?: () => number): Promise<Completed> {
  const answers = new Array<CompleteAnswer | undefined>(items.length);
  const fast: number[] = [];
  const seen = new Set<string>();
  items.forEach((it, i) => {
    // A repeated id goes the slow way, after the first: it then finds the job settled (stale).
    if (it.outcome === 'succeeded' && !seen.has(it.id)) fast.push(i);
    seen.add(it.id);
  });
  let freed = false;
  if (fast.length > 0) {
    // As one JSON document (JSON null and absent fields both read as NULL).
    const batch = JSON.stringify(fast.map((i) => items[i]));
    const { rows } = await c.query<{ id: string; concurrency_key: string | null }>(SETTLE_SUCCESSES, [batch, now]);
    const settled = new Map(rows.map((r) => [r.id, r.concurrency_key]));
    for (const i of fast) {
      const it = items[i] as CompleteItem;
      if (!settled.has(it.id)) {
        answers[i] = { id: it.id, status: 'stale' };
        continue;
      }
      const keyed = settled.get(it.id) !== null;
      answers[i] = keyed ? { id: it.id, status: 'ok', state: 'succeeded', freesSlot: true } : { id: it.id, status: 'ok', state: 'succeeded' };
      freed ||= keyed;
    }
  }
  for (let i = 0; i < items.length; i++) {
    if (answers[i]) continue;
    const it = items[i] as CompleteItem;
    const one = await completeOne(c, it, now, random);
    answers[i] = one.answer;
    freed ||= one.freed;
  }
  return { answers: answers as CompleteAnswer[], freed };
}

async function completeOne(c: pg.PoolClient, it: CompleteItem, now: number, random?: () => number): Promise<{ answer: CompleteAnswer; freed: boolean }> {
  const { rows } = await c.query<JobRow>(`SELECT * FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR UPDATE`, [it.id, it.token]);
  const row = rows[0];
  if (!row) return { answer: { id: it.id, status: 'stale' }, freed: false };
  const job = rowToJob(row);
  const { state, runAt } = nextStateAfter(job, it, now, random);
  const error = state === 'succeeded' ? null : (it.error ?? (job.stopReason ? `stopped: ${job.stopReason}` : null));
  if (it.release && state === 'queued') await c.query('UPDATE jobs SET max_attempts = max_attempts + 1 WHERE id = $1', [it.id]);
  const progress = it.progress === undefined ? row.progress : (toJsonOrNull(it.progress) ?? row.progress);
  const open = state === 'waiting' || state === 'queued';
  await c.query(SETTLE, [it.id, state, runAt, toJsonOrNull(it.result), error, progress, open ? null : now, now]);
  if (open) await recordAttempt(c, job, it.release ? 'released' : 'failed', error, now);
  // A finished keyed job frees a slot of its key; a released one is queued again.
  const keyed = job.concurrencyKey !== null;
  return { answer: keyed ? { id: it.id, status: 'ok', state, freesSlot: true } : { id: it.id, status: 'ok', state }, freed: state === 'queued' || keyed };
}

export async function recordAttempt(c: pg.PoolClient, job: Job, outcome: string, error: string | null, now: number): Promise<void> {
  let worker = job.lease?.worker;
  if (!worker) worker = (await c.query<{ w: string | null }>('SELECT lease_worker AS w FROM jobs WHERE id = $1', [job.id])).rows[0]?.w ?? '?';
  await c.query(RECORD_ATTEMPT, [job.id, job.attempt, worker, job.startedAt ?? now, now, outcome, error]);
}
