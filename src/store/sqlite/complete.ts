import type Database from 'better-sqlite3';
import type { Job } from '../../core/job.js';
import type { CompleteAnswer } from '../../core/reports.js';
import { rowToJob, toJsonOrNull, type JobRow } from '../rows.js';
import type { SettleItem } from '../store.js';
import { answerOf, settleExpiredLease, settleLateReport, settleReport, settleRevokedLease, successOf, type Settlement } from '../transitions.js';
import { insertJobs } from './children.js';
import type { Statements } from './statements.js';

/**
 * Settles reported outcomes in one transaction, each fenced by its lease token. A success needs
 * no read of the row (one statement); the rest are read, ruled on by `settleReport` and written.
 */
export function completeJobs(db: Database.Database, stmts: Statements, items: SettleItem[], now: number, random?: () => number): CompleteAnswer[] {
  return db.transaction(() =>
    items.map((it): CompleteAnswer => {
      if (it.outcome === 'succeeded' && !it.children?.length) {
        const s = successOf(it, now);
        const r = stmts.succeed.get({ id: it.id, token: it.token, state: s.state, result: toJsonOrNull(s.result), error: s.error, progress: toJsonOrNull(s.progress), finished: s.finishedAt, now }) as
          | { key: string | null; parent: string | null }
          | undefined;
        if (!r) return completeLate(stmts, it, now, random);
        return answerOf(it.id, 'succeeded', r.key !== null, r.parent);
      }
      const row = stmts.held.get({ id: it.id, token: it.token }) as JobRow | undefined;
      if (!row) return completeLate(stmts, it, now, random);
      const job = rowToJob(row);
      const s = settleReport(job, it, now, random);
      persist(stmts, job, s, now);
      return answerOf(it.id, s.state, s.freesSlot, job.parentId);
    }),
  )();
}

/** A report whose lease is gone: counted when the lease expired and no one leased the job since (settleLateReport), else stale. */
function completeLate(stmts: Statements, it: SettleItem, now: number, random?: () => number): CompleteAnswer {
  const row = stmts.heldLate.get({ id: it.id, token: it.token }) as JobRow | undefined;
  if (!row) return { id: it.id, status: 'stale' };
  const job = rowToJob(row);
  const s = settleLateReport(job, it, now, random);
  persist(stmts, job, s, now);
  stmts.amendAttempt.run({ id: job.id, attempt: job.attempt, outcome: s.amend.outcome, error: s.amend.error, now });
  stmts.setLostToken.run({ id: job.id, token: null });
  return { ...answerOf(it.id, s.state, false, job.parentId), late: true };
}

/** Voids expired leases (see settleExpiredLease), keeping each one's token for a late report; returns the jobs as they are now. */
export function reapExpiredLeases(db: Database.Database, stmts: Statements, now: number): Job[] {
  return db.transaction(() =>
    (stmts.expired.all({ now }) as JobRow[]).map((row) => {
      const job = rowToJob(row);
      persist(stmts, job, settleExpiredLease(job, now), now);
      stmts.setLostToken.run({ id: job.id, token: row.lease_token });
      return rowToJob(stmts.get.get(job.id) as JobRow);
    }),
  )();
}

/** Takes back the leases `worker` holds (see settleRevokedLease); returns the jobs as they are now. */
export function revokeLeases(db: Database.Database, stmts: Statements, worker: string, now: number): Job[] {
  return db.transaction(() =>
    (stmts.heldBy.all({ worker }) as JobRow[]).map((row) => {
      const job = rowToJob(row);
      persist(stmts, job, settleRevokedLease(job, now), now);
      return rowToJob(stmts.get.get(job.id) as JobRow);
    }),
  )();
}

/** Writes a settlement: the job row, its refunded attempt, its history. */
function persist(stmts: Statements, job: Job, s: Settlement, now: number): void {
  if (s.refundAttempt) stmts.allowOneMore.run({ id: job.id });
  stmts.settle.run({ id: job.id, state: s.state, run_at: s.runAt, result: toJsonOrNull(s.result), error: s.error, progress: toJsonOrNull(s.progress), finished: s.finishedAt, now });
  if (s.history) recordAttempt(stmts, job, s.history.outcome, s.history.error, now);
  if (s.children.length > 0) insertJobs(stmts, s.children, now);
}

/** Copies an ended attempt into job_attempts (once: a second copy is ignored). */
export function recordAttempt(stmts: Statements, job: Job, outcome: string, error: string | null, now: number): void {
  const worker = job.lease?.worker ?? (stmts.leaseWorker.get(job.id) as { w: string | null } | undefined)?.w ?? '?';
  stmts.recordAttempt.run({ id: job.id, attempt: job.attempt, worker, started: job.startedAt ?? now, outcome, error, now });
}
