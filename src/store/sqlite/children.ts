import type { Job, JobState } from '../../core/job.js';
import { rowToJob, type JobRow } from '../rows.js';
import type { ResolvedNewJob } from '../store.js';
import { CANCELED_BEFORE_START, CANCELED_WITH_CHILDREN, cancelAction, checkRetry, settleParent, type ChildEnd } from '../transitions.js';
import { recordAttempt } from './complete.js';
import type { Statements } from './statements.js';

/** Inserts new jobs, in the caller's transaction: `waiting` when due later, else `queued`. */
export function insertJobs(stmts: Statements, jobs: readonly ResolvedNewJob[], now: number): void {
  for (const j of jobs) {
    stmts.insert.run({
      id: j.id,
      queue: j.queue,
      kind: j.kind,
      template: j.template,
      params: JSON.stringify(j.params),
      secrets: JSON.stringify(j.secrets),
      owner: j.owner,
      tags: JSON.stringify(j.tags),
      priority: j.priority,
      state: j.runAt > now ? 'waiting' : 'queued',
      run_at: j.runAt,
      max_attempts: j.maxAttempts,
      backoff_ms: j.backoffMs,
      backoff_max_ms: j.backoffMaxMs,
      time_limit_ms: j.timeLimitMs,
      concurrency_key: j.concurrencyKey,
      concurrency_limit: j.concurrencyLimit,
      node: j.node,
      parent_id: j.parentId,
      now,
    });
  }
}

/**
 * Cancels `job` as cancelAction says; a parent waiting for its children ends at once and its
 * children not ended yet are canceled the same way, down the tree. Returns the job as it is now.
 */
export function cancelTree(stmts: Statements, job: Job, now: number): Job {
  const action = cancelAction(job);
  if (action === 'none') return job;
  if (action === 'stop') return rowToJob(stmts.requestStop.get({ id: job.id, reason: 'canceled', now }) as JobRow);
  const error = action === 'cascade' ? CANCELED_WITH_CHILDREN : CANCELED_BEFORE_START;
  const out = rowToJob(stmts.finish.get({ id: job.id, state: 'canceled', error, now }) as JobRow);
  if (action === 'cascade') for (const row of stmts.activeChildren.all(job.id) as JobRow[]) cancelTree(stmts, rowToJob(row), now);
  return out;
}

/**
 * Retries `job`: a job without children is queued again; a parent is not run again, its
 * children that did not succeed are retried (down the tree) and it waits for them again.
 */
export function retryTree(stmts: Statements, job: Job, now: number): Job {
  checkRetry(job);
  if (stmts.hasChildren.get(job.id)) {
    for (const row of stmts.unsucceededChildren.all(job.id) as JobRow[]) retryTree(stmts, rowToJob(row), now);
    return rowToJob(stmts.awaitAgain.get({ id: job.id, now }) as JobRow);
  }
  // The ended attempt leaves the job row now: keep it in the history.
  if (job.attempt > 0 && job.startedAt !== null) recordAttempt(stmts, job, job.state, job.error, job.finishedAt ?? now);
  return rowToJob(stmts.retry.get({ id: job.id, now }) as JobRow);
}

/**
 * A child retried on its own: its ancestors that had ended (failed or canceled, as it did) wait
 * for their children again, up the tree, and end again when it does.
 */
export function reopenAncestors(stmts: Statements, parentId: string | null, now: number): void {
  for (let id = parentId; id !== null; ) {
    const row = stmts.reopenParent.get({ id, now }) as { parent_id: string | null } | undefined;
    id = row ? row.parent_id : null;
  }
}

/**
 * Ends the parents (those in `ids`, or all) whose children have all ended, then their own
 * parents that this lets end, up the tree. Returns the parents it ended.
 */
export function settleParents(stmts: Statements, ids: readonly string[] | undefined, now: number): Job[] {
  const ended: Job[] = [];
  let next = ids;
  for (;;) {
    const rows = stmts.endableParents.all({ all: next === undefined ? 1 : 0, ids: JSON.stringify(next ?? []) }) as Array<{ id: string }>;
    const endedNow: Job[] = [];
    for (const { id } of rows) {
      const s = settleParent(stmts.childEnds.all(id) as Array<ChildEnd & { state: JobState }>);
      const row = stmts.endParent.get({ id, state: s.state, error: s.error, progress: JSON.stringify(s.progress), now }) as JobRow | undefined;
      if (row) endedNow.push(rowToJob(row));
    }
    ended.push(...endedNow);
    const up = [...new Set(endedNow.map((j) => j.parentId).filter((p): p is string => p !== null))];
    if (up.length === 0) return ended;
    next = up;
  }
}
