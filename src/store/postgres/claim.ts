import type pg from 'pg';
import { newToken } from '../../core/ids.js';
import type { Job } from '../../core/job.js';
import { rowToJob, type JobRow } from '../rows.js';
import type { ClaimParams } from '../store.js';

/**
 * Claims up to `p.limit` queued jobs in the caller's transaction: highest priority first, then
 * oldest; only kinds and templates the worker has. Rows are taken with FOR UPDATE SKIP LOCKED, so
 * coordinators sharing the database never hand out one job twice; a key's running count is read
 * under a transaction-scoped advisory lock on the key, so together they never exceed its limit.
 */
export async function claimJobs(c: pg.PoolClient, p: ClaimParams): Promise<Job[]> {
  if (p.limit <= 0) return [];
  const picked: JobRow[] = [];
  const fullKeys = new Set<string>();
  const perKey = new Map<string, number>();
  while (picked.length < p.limit) {
    const { rows } = await c.query<JobRow>(
      `SELECT * FROM jobs
        WHERE state = 'queued'
          AND ((template IS NULL AND kind = ANY($1)) OR (template IS NOT NULL AND template = ANY($2)))
          AND (cardinality($3::text[]) = 0 OR queue = ANY($3))
          AND NOT (id = ANY($4))
          AND (concurrency_key IS NULL OR NOT (concurrency_key = ANY($5)))
        ORDER BY priority DESC, run_at, id
        LIMIT $6
        FOR UPDATE SKIP LOCKED`,
      [p.kinds, p.templates, p.queues, picked.map((r) => r.id), [...fullKeys], p.limit - picked.length],
    );
    if (rows.length === 0) break;
    const before = picked.length;
    for (const r of rows) {
      const key = r.concurrency_key;
      if (key === null || r.concurrency_limit === null) {
        picked.push(r);
        continue;
      }
      let n = perKey.get(key);
      if (n === undefined) {
        await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7070))', [key]);
        n = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM jobs WHERE state = 'running' AND concurrency_key = $1`, [key])).rows[0]?.n ?? 0);
      }
      if (n >= r.concurrency_limit) {
        fullKeys.add(key);
        perKey.set(key, n);
        continue;
      }
      perKey.set(key, n + 1);
      picked.push(r);
    }
    // A round either picks a job or finds a full key, which the next round leaves out: it ends.
    if (picked.length === before) continue;
  }
  if (picked.length === 0) return [];
  const token = newToken();
  const expires = p.now + p.leaseMs;
  const { rows } = await c.query<JobRow>(
    `UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_worker = $2, lease_token = $3, lease_expires_at = $4,
        deadline_at = CASE WHEN time_limit_ms IS NULL THEN NULL ELSE $5 + time_limit_ms END,
        started_at = $5, updated_at = $5, stop_reason = NULL, progress = NULL, error = NULL, result = NULL
      WHERE id = ANY($1) RETURNING *`,
    [picked.map((r) => r.id), p.worker, token, expires, p.now],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return picked.map((r) => rowToJob(byId.get(r.id) as JobRow));
}
