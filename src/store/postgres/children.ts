import type pg from 'pg';
import { ACTIVE_STATES, type Job } from '../../core/job.js';
import { rowToJob, type JobRow } from '../rows.js';
import type { ResolvedNewJob } from '../store.js';
import { CANCELED_BEFORE_START, CANCELED_WITH_CHILDREN, cancelAction, checkRetry, settleParent, type ChildEnd } from '../transitions.js';
import { recordAttempt } from './complete.js';
import { STOP_CHANNEL } from './listener.js';

/** Inserts a JSON array of ResolvedNewJob ($1) at time $2; json columns keep their text as sent. */
const INSERT_JOBS = `INSERT INTO jobs (id, queue, kind, template, params, secrets, owner, tags, priority, state, run_at, max_attempts,
    backoff_ms, backoff_max_ms, time_limit_ms, concurrency_key, concurrency_limit, node, parent_id, created_at, updated_at)
  SELECT x.id, x.queue, x.kind, x.template, x.params::text, x.secrets::text, x.owner, x.tags::text, x.priority,
    CASE WHEN x."runAt" > $2 THEN 'waiting' ELSE 'queued' END, x."runAt", x."maxAttempts", x."backoffMs", x."backoffMaxMs",
    x."timeLimitMs", x."concurrencyKey", x."concurrencyLimit", x.node, x."parentId", $2, $2
  FROM json_to_recordset($1::json) AS x(id text, queue text, kind text, template text, params json, secrets json, owner text,
    tags json, priority int, "runAt" bigint, "maxAttempts" int, "backoffMs" bigint, "backoffMaxMs" bigint, "timeLimitMs" bigint,
    "concurrencyKey" text, "concurrencyLimit" int, node text, "parentId" text)`;


/** Inserts new jobs: `waiting` when due later, else `queued`. */
export async function insertJobs(q: pg.Pool | pg.PoolClient, jobs: readonly ResolvedNewJob[], now: number): Promise<void> {
  // The batch goes as one JSON document: one native stringify here instead of escaping
  // thousands of array elements, and PostgreSQL reads it back in one pass.
  await q.query(INSERT_JOBS, [JSON.stringify(jobs), now]);
}

const ACTIVE = [...ACTIVE_STATES];

/**
 * Cancels `job` (locked by the caller) as cancelAction says; a parent waiting for its children
 * ends at once and its children not ended yet are canceled the same way, down the tree.
 */
export async function cancelTree(c: pg.PoolClient, job: Job, now: number): Promise<Job> {
  const action = cancelAction(job);
  if (action === 'none') return job;
  if (action === 'stop') {
    const { rows } = await c.query<JobRow>(`UPDATE jobs SET stop_reason = 'canceled', updated_at = $2 WHERE id = $1 RETURNING *`, [job.id, now]);
    if (job.lease) await c.query('SELECT pg_notify($1, $2)', [STOP_CHANNEL, job.lease.worker]);
    return rowToJob(rows[0] as JobRow);
  }
  const { rows } = await c.query<JobRow>(
    `UPDATE jobs SET state = 'canceled', error = $3, finished_at = $2, updated_at = $2,
        lease_token = NULL, lease_expires_at = NULL, stop_reason = NULL WHERE id = $1 RETURNING *`,
    [job.id, now, action === 'cascade' ? CANCELED_WITH_CHILDREN : CANCELED_BEFORE_START],
  );
  if (action === 'cascade') {
    const kids = await c.query<JobRow>('SELECT * FROM jobs WHERE parent_id = $1 AND state = ANY($2) ORDER BY id FOR UPDATE', [job.id, ACTIVE]);
    for (const row of kids.rows) await cancelTree(c, rowToJob(row), now);
  }
  return rowToJob(rows[0] as JobRow);
}

/**
 * Retries `job` (locked by the caller): a job without children is queued again; a parent is not
 * run again, its children that did not succeed are retried (down the tree) and it waits again.
 */
export async function retryTree(c: pg.PoolClient, job: Job, now: number): Promise<Job> {
  checkRetry(job);
  if ((await c.query('SELECT 1 FROM jobs WHERE parent_id = $1 LIMIT 1', [job.id])).rowCount) {
    const kids = await c.query<JobRow>(`SELECT * FROM jobs WHERE parent_id = $1 AND state IN ('failed', 'timed_out', 'canceled') ORDER BY id FOR UPDATE`, [job.id]);
    for (const row of kids.rows) await retryTree(c, rowToJob(row), now);
    const { rows } = await c.query<JobRow>(
      `UPDATE jobs SET state = 'awaiting_children', error = NULL, finished_at = NULL, stop_reason = NULL, updated_at = $2 WHERE id = $1 RETURNING *`,
      [job.id, now],
    );
    return rowToJob(rows[0] as JobRow);
  }
  if (job.attempt > 0 && job.startedAt !== null) await recordAttempt(c, job, job.state, job.error, job.finishedAt ?? now);
  const { rows } = await c.query<JobRow>(
    `UPDATE jobs SET state = 'queued', run_at = $2, max_attempts = GREATEST(max_attempts, attempt + 1), error = NULL,
        result = NULL, stop_reason = NULL, finished_at = NULL, lease_token = NULL, lease_expires_at = NULL,
        deadline_at = NULL, updated_at = $2 WHERE id = $1 RETURNING *`,
    [job.id, now],
  );
  return rowToJob(rows[0] as JobRow);
}

/**
 * A child retried on its own: its ancestors that had ended (failed or canceled, as it did) wait
 * for their children again, up the tree, and end again when it does.
 */
export async function reopenAncestors(c: pg.PoolClient, parentId: string | null, now: number): Promise<void> {
  for (let id = parentId; id !== null; ) {
    const { rows } = await c.query<{ parent_id: string | null }>(
      `UPDATE jobs SET state = 'awaiting_children', error = NULL, finished_at = NULL, stop_reason = NULL, updated_at = $2
        WHERE id = $1 AND state IN ('failed', 'timed_out', 'canceled') RETURNING parent_id`,
      [id, now],
    );
    id = rows[0]?.parent_id ?? null;
  }
}

/**
 * Ends the parents (those in `ids`, or all) whose children have all ended, then their own parents
 * that this lets end, up the tree. A parent is locked (SKIP LOCKED: another coordinator settling
 * it will end it) and ended only while it still waits, so two coordinators never end one twice.
 */
export async function settleParents(c: pg.PoolClient, ids: readonly string[] | undefined, now: number): Promise<Job[]> {
  const ended: Job[] = [];
  let next = ids;
  for (;;) {
    const { rows } = await c.query<{ id: string }>(
      `SELECT id FROM jobs p WHERE p.state = 'awaiting_children' AND ($1::text[] IS NULL OR p.id = ANY($1))
        AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.parent_id = p.id AND k.state = ANY($2)) FOR UPDATE SKIP LOCKED`,
      [next ?? null, ACTIVE],
    );
    const endedNow: Job[] = [];
    for (const { id } of rows) {
      const kids = await c.query<ChildEnd>('SELECT id, state, error FROM jobs WHERE parent_id = $1 ORDER BY id', [id]);
      const s = settleParent(kids.rows);
      const r = await c.query<JobRow>(
        `UPDATE jobs SET state = $2, error = $3, progress = $4, finished_at = $5, updated_at = $5 WHERE id = $1 AND state = 'awaiting_children' RETURNING *`,
        [id, s.state, s.error, JSON.stringify(s.progress), now],
      );
      if (r.rows[0]) endedNow.push(rowToJob(r.rows[0]));
    }
    ended.push(...endedNow);
    const up = [...new Set(endedNow.map((j) => j.parentId).filter((p): p is string => p !== null))];
    if (up.length === 0) return ended;
    next = up;
  }
}
