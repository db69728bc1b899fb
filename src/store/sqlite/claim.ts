import type Database from 'better-sqlite3';
import { newToken } from '../../core/ids.js';
import type { Job } from '../../core/job.js';
import type { ClaimParams } from '../store.js';
import { arrayToRow, JOB_COLUMNS, rowToJob, type JobRow } from '../rows.js';
import type { Statements } from './statements.js';
import type { FirstCandidates } from './first-candidates.js';

/**
 * Claims up to `p.limit` queued jobs for a worker in one transaction: highest priority first,
 * then oldest; only kinds and templates the worker has; never more running jobs per
 * concurrency key than the key's limit.
 */
export function claimJobs(db: Database.Database, stmts: Statements, first: FirstCandidates, p: ClaimParams): Job[] {
  if (p.limit <= 0) return [];
  return db.transaction(() => {
    const picked: string[] = [];
    const pickedRows: JobRow[] = [];
    const rowIds: number[] = [];
    // Per key: jobs running in the store, and jobs picked by this claim.
    const running = new Map<string, number>();
    const pickedPerKey = new Map<string, number>();
    // Each round asks only for jobs still eligible after this claim's picks, so the first
    // candidate can always be taken: a long run of jobs whose key fills up during this claim
    // cannot hide the jobs behind it, and the loop ends after at most `limit` rounds.
    const lists = { kinds: JSON.stringify(p.kinds), templates: JSON.stringify(p.templates), queues: JSON.stringify(p.queues), anyQueue: p.queues.length === 0 ? (1 as const) : (0 as const), node: p.node ?? null };
    while (picked.length < p.limit) {
      const cands =
        picked.length === 0
          ? first.all({ ...lists, limit: p.limit })
          : (stmts.candidates.all({ ...lists, picked: JSON.stringify(picked), pickedPerKey: JSON.stringify(Object.fromEntries(pickedPerKey)), limit: p.limit - picked.length }) as unknown[][]);
      const before = picked.length;
      for (const raw of cands) {
        const c = arrayToRow(raw);
        if (c.concurrency_key !== null && c.concurrency_limit !== null) {
          let n = running.get(c.concurrency_key);
          if (n === undefined) {
            n = (stmts.runningForKey.get(c.concurrency_key) as { n: number }).n;
            running.set(c.concurrency_key, n);
          }
          const mine = pickedPerKey.get(c.concurrency_key) ?? 0;
          // Filled by a job picked earlier in this round.
          if (n + mine >= c.concurrency_limit) continue;
          pickedPerKey.set(c.concurrency_key, mine + 1);
        }
        picked.push(c.id);
        pickedRows.push(c);
        rowIds.push(raw[JOB_COLUMNS.length] as number);
      }
      if (picked.length === before) break;
    }
    if (picked.length === 0) return [];
    const token = newToken();
    // By rowid: the candidates came with it, so the update skips the id index.
    const ids = JSON.stringify(rowIds);
    const expires = p.now + p.leaseMs;
    stmts.start.run({ ids, worker: p.worker, token, expires, now: p.now });
    // The rows as the UPDATE left them, built here: RETURNING costs more than the update.
    return pickedRows.map((r) => {
      const job = rowToJob(r);
      job.state = 'running';
      job.attempt = r.attempt + 1;
      job.lease = { worker: p.worker, token, expiresAt: expires };
      job.startedAt = p.now;
      job.updatedAt = p.now;
      job.stopReason = null;
      job.progress = null;
      job.error = null;
      job.result = null;
      return job;
    });
  })();
}
