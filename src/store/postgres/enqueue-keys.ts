import type pg from 'pg';
import type { Job } from '../../core/job.js';
import { ACTIVE_STATES } from '../../core/job.js';
import { ENQUEUE_KEY_TTL_MS, jobKeyOf, keyReusedError, requestKeyOf, uniqueKeyOf, type EnqueueKeyRow, type KeyedEnqueue, type KeyedEnqueueResult } from '../enqueue-keys.js';
import { newJobOf, rowToJob, type JobRow } from '../rows.js';
import type { ResolvedNewJob } from '../store.js';
import { insertJobs } from './children.js';
import { inTransaction } from './pg-client.js';

const GET = 'SELECT fingerprint, job_ids FROM enqueue_keys WHERE key = $1 AND created_at >= $2';
/**
 * Takes a key that is free or past its TTL; a live one (another coordinator's request with the
 * same key, committed meanwhile) returns no row, and the enqueue starts over to answer with it.
 */
const PUT = `INSERT INTO enqueue_keys (key, fingerprint, job_ids, created_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, job_ids = excluded.job_ids, created_at = excluded.created_at
  WHERE enqueue_keys.created_at < $5 RETURNING key`;

/** A unique key's row, locked: two coordinators deciding on one key at once take turns. */
const GET_UNIQUE = 'SELECT fingerprint, job_ids FROM enqueue_keys WHERE key = $1 FOR UPDATE';
const CLAIM_UNIQUE = `INSERT INTO enqueue_keys (key, fingerprint, job_ids, created_at) VALUES ($1, NULL, $2, $3)
  ON CONFLICT (key) DO NOTHING RETURNING key`;
const RETAKE_UNIQUE = 'UPDATE enqueue_keys SET job_ids = $2, created_at = $3 WHERE key = $1';

class KeyTaken extends Error {}

/** Enqueues under idempotency keys (store/enqueue-keys.ts) in PostgreSQL: keys and jobs in one transaction. */
export async function enqueueKeyed(pool: pg.Pool, p: KeyedEnqueue): Promise<KeyedEnqueueResult> {
  for (let round = 0; ; round++) {
    try {
      return await inTransaction(pool, (c) => enqueueOnce(c, p));
    } catch (err) {
      // Two requests with one key at once: the one that lost sees the winner's key next round.
      if (err instanceof KeyTaken && round < 2) continue;
      throw err;
    }
  }
}

async function enqueueOnce(c: pg.PoolClient, p: KeyedEnqueue): Promise<KeyedEnqueueResult> {
  const since = p.now - ENQUEUE_KEY_TTL_MS;
  const get = async (key: string) => (await c.query<EnqueueKeyRow>(GET, [key, since])).rows[0];
  // `over`: the key is live but what it made is gone (deleted by retention): it is taken over.
  const put = async (key: string, fingerprint: string | null, ids: string[], over = false) => {
    if ((await c.query(PUT, [key, fingerprint, JSON.stringify(ids), p.now, over ? p.now + 1 : since])).rowCount === 0) throw new KeyTaken();
  };
  if (p.request) {
    const seen = await get(requestKeyOf(p.request.key));
    if (seen) {
      if (seen.fingerprint !== p.request.fingerprint) throw keyReusedError(p.request.key);
      const jobs = await jobsOf(c, seen);
      return { jobs, created: jobs.map(() => false), replayed: true };
    }
  }
  const jobs: Job[] = [];
  const created: boolean[] = [];
  const fresh: ResolvedNewJob[] = [];
  const inBatch = new Map<string, Job>();
  for (let i = 0; i < p.jobs.length; i++) {
    const j = p.jobs[i] as ResolvedNewJob;
    const key = p.jobKeys?.[i] ?? null;
    const u = p.uniqueKeys?.[i] ?? null;
    const unique = u === null ? null : uniqueKeyOf(u);
    const row = key === null || inBatch.has(jobKeyOf(key)) ? undefined : await get(jobKeyOf(key));
    let before = key === null ? undefined : (inBatch.get(jobKeyOf(key)) ?? (await jobsOf(c, row))[0]);
    let uniqueRow: EnqueueKeyRow | undefined;
    if (!before && unique !== null) {
      before = inBatch.get(unique);
      if (!before) {
        uniqueRow = (await c.query<EnqueueKeyRow>(GET_UNIQUE, [unique])).rows[0];
        before = (await jobsOf(c, uniqueRow)).find((x) => ACTIVE_STATES.includes(x.state));
      }
    }
    if (before) {
      jobs.push(before);
      created.push(false);
      continue;
    }
    const job = newJobOf(j, p.now);
    fresh.push(j);
    jobs.push(job);
    created.push(true);
    if (key !== null) {
      inBatch.set(jobKeyOf(key), job);
      await put(jobKeyOf(key), null, [j.id], row !== undefined);
    }
    if (unique !== null) {
      inBatch.set(unique, job);
      const ids = JSON.stringify([j.id]);
      if (uniqueRow) await c.query(RETAKE_UNIQUE, [unique, ids, p.now]);
      else if ((await c.query(CLAIM_UNIQUE, [unique, ids, p.now])).rowCount === 0) throw new KeyTaken();
    }
  }
  if (fresh.length > 0) await insertJobs(c, fresh, p.now);
  if (p.request) await put(requestKeyOf(p.request.key), p.request.fingerprint, jobs.map((j) => j.id));
  return { jobs, created, replayed: false };
}

/** The jobs a key made that are still in the store, in its order. */
async function jobsOf(c: pg.PoolClient, row: EnqueueKeyRow | undefined): Promise<Job[]> {
  if (!row) return [];
  const ids = JSON.parse(row.job_ids) as string[];
  const { rows } = await c.query<JobRow>('SELECT * FROM jobs WHERE id = ANY($1)', [ids]);
  const byId = new Map(rows.map((r) => [r.id, rowToJob(r)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
