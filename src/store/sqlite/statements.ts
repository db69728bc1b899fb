import type Database from 'better-sqlite3';
import { ACTIVE_STATES } from '../../core/job.js';
import { JOB_COLUMNS } from '../rows.js';

/** The states of a job that has not ended, as an SQL list. */
const ACTIVE = `(${ACTIVE_STATES.map((s) => `'${s}'`).join(', ')})`;

/** Every statement of the SQLite store, prepared once per connection. */
export function prepareStatements(db: Database.Database) {
  const statements = {
    insert: db.prepare(`INSERT INTO jobs (id, queue, kind, template, params, secrets, owner, tags, priority, state, run_at,
        max_attempts, backoff_ms, backoff_max_ms, time_limit_ms, concurrency_key, concurrency_limit, node, parent_id, created_at, updated_at)
      VALUES (@id, @queue, @kind, @template, @params, @secrets, @owner, @tags, @priority, @state, @run_at,
        @max_attempts, @backoff_ms, @backoff_max_ms, @time_limit_ms, @concurrency_key, @concurrency_limit, @node, @parent_id, @now, @now)`),
    get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    exists: db.prepare('SELECT 1 FROM jobs WHERE id = ?'),
    finish: db.prepare(`UPDATE jobs SET state = @state, error = @error, finished_at = @now, updated_at = @now,
        lease_token = NULL, lease_expires_at = NULL, stop_reason = NULL WHERE id = @id RETURNING *`),
    requestStop: db.prepare(`UPDATE jobs SET stop_reason = @reason, updated_at = @now WHERE id = @id RETURNING *`),
    retry: db.prepare(`UPDATE jobs SET state = 'queued', run_at = @now, max_attempts = MAX(max_attempts, attempt + 1),
        error = NULL, result = NULL, stop_reason = NULL, finished_at = NULL, lease_worker = NULL, lease_token = NULL,
        lease_expires_at = NULL, deadline_at = NULL, updated_at = @now WHERE id = @id RETURNING *`),
    // INDEXED BY: without statistics the planner may pick jobs_state and sort every queued job.
    // Raw mode: rows come as arrays in JOB_COLUMNS order, then the rowid.
    candidates: db.prepare(`SELECT ${JOB_COLUMNS.join(', ')}, rowid FROM jobs INDEXED BY jobs_queued
      WHERE state = 'queued'
        AND ((template IS NULL AND kind IN (SELECT value FROM json_each(@kinds)))
          OR (template IS NOT NULL AND template IN (SELECT value FROM json_each(@templates))))
        AND (@anyQueue = 1 OR queue IN (SELECT value FROM json_each(@queues)))
        AND queue NOT IN (SELECT queue FROM paused_queues)
        AND (node IS NULL OR node = @node)
        AND id NOT IN (SELECT value FROM json_each(@picked))
        AND (concurrency_key IS NULL OR concurrency_limit IS NULL OR concurrency_limit >
          (SELECT COUNT(*) FROM jobs r WHERE r.state = 'running' AND r.concurrency_key = jobs.concurrency_key)
          + COALESCE((SELECT k.value FROM json_each(@pickedPerKey) k WHERE k.key = jobs.concurrency_key), 0))
      ORDER BY priority DESC, run_at, id LIMIT @limit`).raw(true),
    runningForKey: db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE state = 'running' AND concurrency_key = ?`),
    start: db.prepare(`UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_worker = @worker, lease_token = @token,
        lease_expires_at = @expires, deadline_at = CASE WHEN time_limit_ms IS NULL THEN NULL ELSE @now + time_limit_ms END,
        started_at = @now, updated_at = @now, stop_reason = NULL, progress = NULL, error = NULL, result = NULL, lost_token = NULL
      WHERE rowid IN (SELECT value FROM json_each(@ids))`),
    renew: db.prepare(`UPDATE jobs SET lease_expires_at = @expires, progress = COALESCE(@progress, progress), updated_at = @now
      WHERE id = @id AND lease_token = @token AND state = 'running' RETURNING stop_reason`),
    held: db.prepare(`SELECT * FROM jobs WHERE id = @id AND lease_token = @token AND state = 'running'`),
    // The job of a lease that expired, not leased again since (transitions.ts settleLateReport).
    heldLate: db.prepare(`SELECT * FROM jobs WHERE id = @id AND lost_token = @token AND state IN ('queued', 'failed')`),
    setLostToken: db.prepare('UPDATE jobs SET lost_token = @token WHERE id = @id'),
    amendAttempt: db.prepare('UPDATE job_attempts SET outcome = @outcome, error = @error, ended_at = @now WHERE job_id = @id AND attempt = @attempt'),
    // @progress NULL keeps the stored progress (see Settlement.progress).
    settle: db.prepare(`UPDATE jobs SET state = @state, run_at = @run_at, result = @result, error = @error, progress = COALESCE(@progress, progress),
        lease_token = NULL, lease_expires_at = NULL, deadline_at = NULL, stop_reason = NULL, finished_at = @finished, updated_at = @now
      WHERE id = @id`),
    succeed: db.prepare(`UPDATE jobs SET state = @state, result = @result, error = @error, progress = COALESCE(@progress, progress),
        lease_token = NULL, lease_expires_at = NULL, deadline_at = NULL, stop_reason = NULL, finished_at = @finished, updated_at = @now
      WHERE id = @id AND lease_token = @token AND state = 'running' RETURNING concurrency_key AS key, parent_id AS parent`),
    // An attempt's row is written once, when it ends; the running attempt is read from the job.
    recordAttempt: db.prepare(`INSERT OR IGNORE INTO job_attempts (job_id, attempt, worker, started_at, ended_at, outcome, error)
      VALUES (@id, @attempt, @worker, @started, @now, @outcome, @error)`),
    allowOneMore: db.prepare('UPDATE jobs SET max_attempts = max_attempts + 1 WHERE id = @id'),
    leaseWorker: db.prepare('SELECT lease_worker AS w FROM jobs WHERE id = ?'),
    stopsFor: db.prepare(`SELECT id, stop_reason AS reason FROM jobs WHERE state = 'running' AND lease_worker = ? AND stop_reason IS NOT NULL`),
    lastLogSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM job_logs WHERE job_id = ?'),
    insertLog: db.prepare('INSERT INTO job_logs (job_id, seq, ts, stream, text) VALUES (@job_id, @seq, @ts, @stream, @text)'),
    readLog: db.prepare('SELECT seq, ts, stream, text FROM job_logs WHERE job_id = @job_id AND seq > @after ORDER BY seq LIMIT @limit'),
    attempts: db.prepare('SELECT * FROM job_attempts WHERE job_id = ? ORDER BY attempt'),
    promote: db.prepare(`UPDATE jobs SET state = 'queued', updated_at = @now WHERE state = 'waiting' AND run_at <= @now`),
    nextDue: db.prepare(`SELECT MIN(run_at) AS t FROM jobs WHERE state = 'waiting'`),
    expired: db.prepare(`SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at < @now`),
    heldBy: db.prepare(`SELECT * FROM jobs WHERE state = 'running' AND lease_worker = @worker`),
    markTimedOut: db.prepare(`UPDATE jobs SET stop_reason = 'timed_out', updated_at = @now
      WHERE state = 'running' AND deadline_at IS NOT NULL AND deadline_at <= @now AND stop_reason IS NULL RETURNING *`),
    upsertWorker: db.prepare(`INSERT INTO workers (name, info, first_seen, last_seen) VALUES (@name, @info, @now, @now)
      ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_seen = excluded.last_seen`),
    importJob: db.prepare(`INSERT OR IGNORE INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map((c) => '@' + c).join(', ')})`),
    // Secret params at rest (drover secrets rotate).
    jobsWithSecrets: db.prepare(`SELECT id, params, secrets FROM jobs WHERE id > @after AND json_array_length(secrets) > 0 ORDER BY id LIMIT @limit`),
    updateParams: db.prepare('UPDATE jobs SET params = @params WHERE id = @id'),
    // A child stays while its parent waits: the parent's end reads it.
    deleteFinished: db.prepare(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
      WHERE state IN (SELECT value FROM json_each(@states)) AND finished_at < @before
        AND (parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs p WHERE p.id = jobs.parent_id AND p.state = 'awaiting_children'))
      LIMIT @limit)`),
    // Parents and children (children.ts).
    endableParents: db.prepare(`SELECT id FROM jobs p WHERE p.state = 'awaiting_children'
        AND (@all = 1 OR p.id IN (SELECT value FROM json_each(@ids)))
        AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.parent_id = p.id AND c.state IN ${ACTIVE})`),
    childEnds: db.prepare('SELECT id, state, error FROM jobs WHERE parent_id = ? ORDER BY id'),
    endParent: db.prepare(`UPDATE jobs SET state = @state, error = @error, progress = @progress, finished_at = @now, updated_at = @now
      WHERE id = @id AND state = 'awaiting_children' RETURNING *`),
    activeChildren: db.prepare(`SELECT * FROM jobs WHERE parent_id = ? AND state IN ${ACTIVE} ORDER BY id`),
    unsucceededChildren: db.prepare(`SELECT * FROM jobs WHERE parent_id = ? AND state IN ('failed', 'timed_out', 'canceled') ORDER BY id`),
    hasChildren: db.prepare('SELECT 1 FROM jobs WHERE parent_id = ? LIMIT 1'),
    awaitAgain: db.prepare(`UPDATE jobs SET state = 'awaiting_children', error = NULL, finished_at = NULL, stop_reason = NULL, updated_at = @now
      WHERE id = @id RETURNING *`),
    reopenParent: db.prepare(`UPDATE jobs SET state = 'awaiting_children', error = NULL, finished_at = NULL, stop_reason = NULL, updated_at = @now
      WHERE id = @id AND state IN ('failed', 'timed_out', 'canceled') RETURNING parent_id`),
    workers: db.prepare('SELECT info, first_seen, last_seen FROM workers ORDER BY name'),
    runningByWorker: db.prepare(`SELECT lease_worker AS w, COUNT(*) AS n FROM jobs WHERE state = 'running' AND lease_worker IS NOT NULL GROUP BY lease_worker`),
    deleteWorkers: db.prepare('DELETE FROM workers WHERE last_seen < @before'),
    touchWorker: db.prepare(`UPDATE workers SET last_seen = @now, info = json_set(info, '$.running', CAST(@running AS INTEGER)) WHERE name = @name`),
  };
  // Named by the driver's public type, so the store's declarations can be emitted.
  return statements as Record<keyof typeof statements, Database.Statement>;
}

export type Statements = ReturnType<typeof prepareStatements>;
