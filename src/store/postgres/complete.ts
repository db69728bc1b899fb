import type pg from 'pg';
import type { Job } from '../../core/job.js';
import type { CompleteAnswer } from '../../core/reports.js';
import type { SettleItem } from '../store.js';
import { insertJobs } from './children.js';
import { rowToJob, toJsonOrNull, type JobRow } from '../rows.js';
import { answerOf, settleExpiredLease, settleLateReport, settleReport, settleRevokedLease, successOf, type Settlement } from '../transitions.js';

/** $6 NULL keeps the stored progress (see Settlement.progress). */
const SETTLE = `UPDATE jobs SET state = $2, run_at = $3, result = $4, error = $5, progress = COALESCE($6, progress), lease_token = NULL,
    lease_expires_at = NULL, deadline_at = NULL, stop_reason = NULL, finished_at = $7, updated_at = $8 WHERE id = $1`;
export const RECORD_ATTEMPT = `INSERT INTO job_attempts (job_id, attempt, worker, started_at, ended_at, outcome, error)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`;

/**
 * Every success in one statement, fenced by the lease token: a success always ends the job, so
 * nothing about the row needs reading first (see successOf). Returns the ids it settled with their keys.
 */
const SETTLE_SUCCESSES = `UPDATE jobs SET state = u.state, result = u.result::text, error = u.error,
    progress = COALESCE(u.progress::text, jobs.progress), lease_token = NULL, lease_expires_at = NULL, deadline_at = NULL,
    stop_reason = NULL, finished_at = u."finishedAt", updated_at = $2
  FROM json_to_recordset($1::json) AS u(id text, token text, state text, result json, error text, progress json, "finishedAt" bigint)
  WHERE jobs.id = u.id AND jobs.lease_token = u.token AND jobs.state = 'running'
  RETURNING jobs.id, jobs.concurrency_key, jobs.parent_id`;

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
export async function completeJobs(c: pg.PoolClient, items: SettleItem[], now: number, random?: () => number): Promise<Completed> {
  const answers = new Array<CompleteAnswer | undefined>(items.length);
  const fast: number[] = [];
  const seen = new Set<string>();
  items.forEach((it, i) => {
    // A repeated id goes the slow way, after the first: it then finds the job settled (stale).
    if (it.outcome === 'succeeded' && !it.children?.length && !seen.has(it.id)) fast.push(i);
    seen.add(it.id);
  });
  let freed = false;
  if (fast.length > 0) {
    // As one JSON document (JSON null and absent fields both read as NULL).
    const batch = JSON.stringify(fast.map((i) => ({ id: items[i]!.id, token: items[i]!.token, ...successOf(items[i] as SettleItem, now) })));
    const { rows } = await c.query<{ id: string; concurrency_key: string | null; parent_id: string | null }>(SETTLE_SUCCESSES, [batch, now]);
    const settled = new Map(rows.map((r) => [r.id, r]));
    for (const i of fast) {
      const it = items[i] as SettleItem;
      // Not held: the slow way finds out whether it came late or is stale.
      if (!settled.has(it.id)) continue;
      const row = settled.get(it.id);
      const keyed = row?.concurrency_key != null;
      answers[i] = answerOf(it.id, 'succeeded', keyed, row?.parent_id ?? null);
      freed ||= keyed;
    }
  }
  for (let i = 0; i < items.length; i++) {
    if (answers[i]) continue;
    const it = items[i] as SettleItem;
    const one = await completeOne(c, it, now, random);
    answers[i] = one.answer;
    freed ||= one.freed;
  }
  return { answers: answers as CompleteAnswer[], freed };
}

async function completeOne(c: pg.PoolClient, it: SettleItem, now: number, random?: () => number): Promise<{ answer: CompleteAnswer; freed: boolean }> {
  const { rows } = await c.query<JobRow>(`SELECT * FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR UPDATE`, [it.id, it.token]);
  const row = rows[0];
  if (!row) return completeLate(c, it, now, random);
  const job = rowToJob(row);
  const s = settleReport(job, it, now, random);
  await persist(c, job, s, now);
  // A finished keyed job frees a slot of its key; a released one is queued again.
  return { answer: answerOf(it.id, s.state, s.freesSlot, job.parentId), freed: s.state === 'queued' || s.freesSlot || s.children.length > 0 };
}

/** A report whose lease is gone: counted when the lease expired and no one leased the job since (settleLateReport), else stale. */
async function completeLate(c: pg.PoolClient, it: SettleItem, now: number, random?: () => number): Promise<{ answer: CompleteAnswer; freed: boolean }> {
  const { rows } = await c.query<JobRow>(`SELECT * FROM jobs WHERE id = $1 AND lost_token = $2 AND state IN ('queued', 'failed') FOR UPDATE`, [it.id, it.token]);
  const row = rows[0];
  if (!row) return { answer: { id: it.id, status: 'stale' }, freed: false };
  const job = rowToJob(row);
  const s = settleLateReport(job, it, now, random);
  await persist(c, job, s, now);
  await c.query('UPDATE job_attempts SET outcome = $3, error = $4, ended_at = $5 WHERE job_id = $1 AND attempt = $2', [job.id, job.attempt, s.amend.outcome, s.amend.error, now]);
  await c.query('UPDATE jobs SET lost_token = NULL WHERE id = $1', [job.id]);
  return { answer: { ...answerOf(it.id, s.state, false, job.parentId), late: true }, freed: s.children.length > 0 };
}

/** Voids expired leases (see settleExpiredLease) in the caller's transaction, keeping each one's token for a late report; returns the jobs as they are now. */
export async function reapExpiredLeases(c: pg.PoolClient, now: number): Promise<Job[]> {
  const { rows } = await c.query<JobRow>(`SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at < $1 FOR UPDATE SKIP LOCKED`, [now]);
  const out: Job[] = [];
  for (const row of rows) {
    const job = rowToJob(row);
    await persist(c, job, settleExpiredLease(job, now), now);
    await c.query('UPDATE jobs SET lost_token = $2 WHERE id = $1', [job.id, row.lease_token]);
    out.push(rowToJob((await c.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [job.id])).rows[0] as JobRow));
  }
  return out;
}

/** Takes back the leases `worker` holds (see settleRevokedLease) in the caller's transaction; returns the jobs as they are now. */
export async function revokeLeases(c: pg.PoolClient, worker: string, now: number): Promise<Job[]> {
  const { rows } = await c.query<JobRow>(`SELECT * FROM jobs WHERE state = 'running' AND lease_worker = $1 FOR UPDATE`, [worker]);
  const out: Job[] = [];
  for (const row of rows) {
    const job = rowToJob(row);
    await persist(c, job, settleRevokedLease(job, now), now);
    out.push(rowToJob((await c.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [job.id])).rows[0] as JobRow));
  }
  return out;
}

/** Writes a settlement: the job row, its refunded attempt, its history. */
async function persist(c: pg.PoolClient, job: Job, s: Settlement, now: number): Promise<void> {
  if (s.refundAttempt) await c.query('UPDATE jobs SET max_attempts = max_attempts + 1 WHERE id = $1', [job.id]);
  await c.query(SETTLE, [job.id, s.state, s.runAt, toJsonOrNull(s.result), s.error, toJsonOrNull(s.progress), s.finishedAt, now]);
  if (s.history) await recordAttempt(c, job, s.history.outcome, s.history.error, now);
  if (s.children.length > 0) await insertJobs(c, s.children, now);
}

export async function recordAttempt(c: pg.PoolClient, job: Job, outcome: string, error: string | null, now: number): Promise<void> {
  let worker = job.lease?.worker;
  if (!worker) worker = (await c.query<{ w: string | null }>('SELECT lease_worker AS w FROM jobs WHERE id = $1', [job.id])).rows[0]?.w ?? '?';
  await c.query(RECORD_ATTEMPT, [job.id, job.attempt, worker, job.startedAt ?? now, now, outcome, error]);
}
