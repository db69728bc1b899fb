import type pg from 'pg';
import { newToken } from '../../core/ids.js';
import type { Job } from '../../core/job.js';
import { rowToJob, type JobRow } from '../rows.js';
import type { ClaimParams } from '../store.js';
import { inTransaction } from './pg-client.js';

/** Queued jobs this worker may run: its kinds (no template) or its templates, in its queues. */
/** Queued, of a kind or template the worker has, in its queues; $N the worker's node (jobs for no node, or for it). */
const eligible = (node: number) => `state = 'queued'
  AND ((template IS NULL AND kind = ANY($1)) OR (template IS NOT NULL AND template = ANY($2)))
  AND (cardinality($3::text[]) = 0 OR queue = ANY($3))
  AND queue NOT IN (SELECT queue FROM paused_queues)
  AND (node IS NULL OR node = $${node}::text)`;

/** The best first: what every claim orders by. */
const ORDER = 'ORDER BY priority DESC, run_at, id';

/** Everything a claimed job's row gets; $A worker, $B token, $C lease expiry, $D now. */
const leaseSet = (a: number, b: number, cExp: number, d: number) => `state = 'running', attempt = attempt + 1, lease_worker = $${a},
  lease_token = $${b}, lease_expires_at = $${cExp}, deadline_at = CASE WHEN time_limit_ms IS NULL THEN NULL ELSE $${d} + time_limit_ms END,
  started_at = $${d}, updated_at = $${d}, stop_reason = NULL, progress = NULL, error = NULL, result = NULL, lost_token = NULL`;

/**
 * One statement takes the best `limit` eligible rows with FOR UPDATE SKIP LOCKED and leases those
 * without a concurrency key; keyed ones among them are only counted. The rows come back as one
 * JSON array (keys are the column names, so it is a JobRow[]): a claim of a thousand rows is one
 * JSON.parse rather than thirty thousand fields parsed one by one.
 */
const CLAIM_UNKEYED = `WITH c AS (
    SELECT id, concurrency_key, concurrency_limit FROM jobs WHERE ${eligible(9)} ${ORDER} LIMIT $4 FOR UPDATE SKIP LOCKED),
  u AS (UPDATE jobs SET ${leaseSet(5, 6, 7, 8)}
    FROM c WHERE jobs.id = c.id AND (c.concurrency_key IS NULL OR c.concurrency_limit IS NULL) RETURNING jobs.*)
  SELECT (SELECT COALESCE(json_agg(u), '[]') FROM u) AS claimed,
    (SELECT count(*) FROM c WHERE c.concurrency_key IS NOT NULL AND c.concurrency_limit IS NOT NULL)::int AS keyed`;

/**
 * A queue table's statistics are nearly always stale, and the eligibility filter looks selective,
 * so the planner likes a bitmap scan of every queued row plus a sort: a cost that grows with the
 * backlog on every claim (29 ms per claim at 50,000 queued). Walking the ordered partial index
 * and stopping at the limit is what a claim needs, at any backlog (0.5 ms). Sorts too: right
 * after a million jobs were added, before autovacuum analyzed them, the planner took the
 * by-state index for one row and sorted what it found, every queued job (850 ms a claim at 1M).
 */
const BEGIN_CLAIM = 'BEGIN; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off';

/**
 * Claims up to `p.limit` queued jobs: highest priority first, then oldest; only kinds and
 * templates the worker has. Rows are taken with FOR UPDATE SKIP LOCKED, so coordinators sharing
 * the database never hand out one job twice.
 *
 * One statement leases the best candidates without a concurrency key. Keyed candidates, if any,
 * are claimed after it in the same transaction, each key's running count read under a
 * transaction-scoped advisory lock on the key, so coordinators together never exceed its limit.
 */
export async function claimJobs(pool: pg.Pool, p: ClaimParams): Promise<Job[]> {
  if (p.limit <= 0) return [];
  const rows = await inTransaction(
    pool,
    async (c) => {
      const first = await c.query<{ claimed: JobRow[]; keyed: number }>(CLAIM_UNKEYED, [p.kinds, p.templates, p.queues, p.limit, p.worker, newToken(), p.now + p.leaseMs, p.now, p.node ?? null]);
      const { claimed, keyed } = first.rows[0] ?? { claimed: [], keyed: 0 };
      if (keyed > 0) claimed.push(...(await claimKeyed(c, { ...p, limit: p.limit - claimed.length }, claimed.map((r) => r.id))));
      return claimed;
    },
    BEGIN_CLAIM,
  );
  return rows.sort(byClaimOrder).map(rowToJob);
}

/** The keyed pass: candidates in claim order, keyed ones counted against their limits. */
async function claimKeyed(c: pg.PoolClient, p: ClaimParams, exclude: string[]): Promise<JobRow[]> {
  const picked: string[] = [];
  const fullKeys = new Set<string>();
  const perKey = new Map<string, number>();
  while (picked.length < p.limit) {
    const { rows } = await c.query<Pick<JobRow, 'id' | 'concurrency_key' | 'concurrency_limit'>>(
      `SELECT id, concurrency_key, concurrency_limit FROM jobs
        WHERE ${eligible(7)} AND NOT (id = ANY($4)) AND (concurrency_key IS NULL OR NOT (concurrency_key = ANY($5)))
        ${ORDER} LIMIT $6 FOR UPDATE SKIP LOCKED`,
      [p.kinds, p.templates, p.queues, [...exclude, ...picked], [...fullKeys], p.limit - picked.length, p.node ?? null],
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      const key = r.concurrency_key;
      if (key === null || r.concurrency_limit === null) {
        picked.push(r.id);
        continue;
      }
      let n = perKey.get(key);
      if (n === undefined) {
        await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7070))', [key]);
        n = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM jobs WHERE state = 'running' AND concurrency_key = $1`, [key])).rows[0]?.n ?? 0);
      }
      if (n >= r.concurrency_limit) {
        // The next round leaves this key out, so a round that picks nothing still ends the loop.
        fullKeys.add(key);
        perKey.set(key, n);
        continue;
      }
      perKey.set(key, n + 1);
      picked.push(r.id);
    }
  }
  if (picked.length === 0) return [];
  const { rows } = await c.query<JobRow>(`UPDATE jobs SET ${leaseSet(2, 3, 4, 5)} WHERE id = ANY($1) RETURNING *`, [
    picked,
    p.worker,
    newToken(),
    p.now + p.leaseMs,
    p.now,
  ]);
  return rows;
}

function byClaimOrder(a: JobRow, b: JobRow): number {
  return b.priority - a.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
