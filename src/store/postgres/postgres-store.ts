import pg from 'pg';
import { ConfigError, ConflictError, NotFoundError, errorMessage } from '../../core/errors.js';
import { listOrderOf, nextCursorOf } from '../list-order.js';
import { LIST_DEFAULTS, type CountFilter, type JobPage, type ListFilter } from '../../core/job-filter.js';
import { ACTIVE_STATES, byQueue, byState, FINAL_STATES, finalOnly, type Attempt, type Job, type JobState, type StopReason } from '../../core/job.js';
import type { CompleteAnswer, HeartbeatAnswer, HeartbeatItem, LogChunk, StoredLogChunk, WorkerInfo, WorkerRecord } from '../../core/reports.js';
import { attemptsOf, JOB_COLUMNS, jobToRow, newJobOf, rowToJob, toJsonOrNull, type AttemptRow, type JobRow } from '../rows.js';
import type { Schedule } from '../../core/schedule.js';
import type { ScheduleAdvance } from '../schedule-rows.js';
import { PgSchedules } from './schedules.js';
import { PgTokens } from './tokens.js';
import type { ClaimParams, FinishedBucketRow, JobSecrets, JobStore, ResolvedNewJob, SearchIndexChange, SettleItem, StoredToken, StoreEvents, Subscription } from '../store.js';
import { cancelTree, insertJobs, reopenAncestors, retryTree, settleParents } from './children.js';
import { claimJobs } from './claim.js';
import { completeJobs, reapExpiredLeases, RECORD_ATTEMPT, revokeLeases } from './complete.js';
import { listen, STOP_CHANNEL, WORK_CHANNEL, workPayload } from './listener.js';
import { newToken } from '../../core/ids.js';
import { PgCounters } from './counters.js';
import { counterFilterOf } from '../counters.js';
import { migratePostgres } from './migrations.js';
import { createPool, inTransaction, redactUrl, type PgOptions } from './pg-client.js';
import { enqueueKeyed } from './enqueue-keys.js';
import type { KeyedEnqueue, KeyedEnqueueResult } from '../enqueue-keys.js';
import { pgSearchIndexOn, setPgSearchIndex } from './search-index.js';
import { whereOf } from './where.js';

export { redactUrl };

/** The advisory lock held by the coordinator that runs maintenance. */
const LEADER_LOCK = 7_070_002;

/** The PostgreSQL store, for several coordinators sharing one database. */
export class PostgresJobStore implements JobStore {
  /** Several coordinators may share the database. */
  readonly shared = true;

  /** LISTEN/NOTIFY wake-ups between coordinators; absent with `listen: false`, so they poll. */
  readonly subscribe?: (events: StoreEvents) => Promise<Subscription>;

  private readonly schedules: PgSchedules;
  private readonly tokens: PgTokens;
  private readonly counters: PgCounters;
  /**
   * Names this store's own notifications: its coordinator woke its own long polls already, and
   * skips them when they come back through LISTEN (waking them twice per enqueue).
   */
  private readonly instance = newToken().slice(0, 16);
  /** Whether the text search index was there at open or since setSearchIndex. */
  private searchIndexed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly o: PgOptions,
  ) {
    this.schedules = new PgSchedules(pool);
    this.tokens = new PgTokens(pool);
    this.counters = new PgCounters(pool);
    if (o.listen !== false) this.subscribe = (events) => listen(o.url, events, { ...(o.schema ? { options: `-c search_path=${o.schema}` } : {}), instance: this.instance });
  }

  /** Connects, creates the schema if asked, and migrates. Throws ConfigError with the reason. */
  static async open(o: PgOptions): Promise<PostgresJobStore> {
    const pool = createPool(o);
    // An idle client's error (server restart) must not crash the process; the next query retries.
    pool.on('error', () => undefined);
    try {
      const c = await pool.connect();
      try {
        await migratePostgres(c, o.schema);
      } finally {
        c.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new ConfigError(`cannot open the PostgreSQL database at ${redactUrl(o.url)}: ${errorMessage(err)}`);
    }
    const store = new PostgresJobStore(pool, o);
    store.searchIndexed = await pgSearchIndexOn(pool);
    return store;
  }

  async setSearchIndex(p: { on: boolean }): Promise<SearchIndexChange> {
    const r = await setPgSearchIndex(this.pool, p.on);
    this.searchIndexed = p.on;
    return r;
  }

  async enqueue(p: { jobs: ResolvedNewJob[]; now: number }): Promise<Job[]> {
    if (p.jobs.length === 0) return [];
    try {
      // The batch goes as one JSON document: one native stringify here instead of escaping
      // thousands of array elements, and PostgreSQL reads it back in one pass.
      await insertJobs(this.pool, p.jobs, p.now);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError('a job with this id already exists');
      throw err;
    }
    const jobs = p.jobs.map((j) => newJobOf(j, p.now));
    const queued = jobs.filter((j) => j.state === 'queued').length;
    if (queued > 0) await this.notifyWork(this.pool, queued);
    return jobs;
  }

  async enqueueKeyed(p: KeyedEnqueue): Promise<KeyedEnqueueResult> {
    let r: KeyedEnqueueResult;
    try {
      r = await enqueueKeyed(this.pool, p);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError('a job with this id already exists');
      throw err;
    }
    const queued = r.jobs.filter((j, i) => r.created[i] && j.state === 'queued').length;
    if (queued > 0) await this.notifyWork(this.pool, queued);
    return r;
  }

  async pruneEnqueueKeys(p: { before: number }): Promise<number> {
    // A unique key stays while its job has not ended, however old.
    return (
      (await this.pool.query(`DELETE FROM enqueue_keys WHERE created_at < $1 AND NOT (key LIKE 'unique:%'
        AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = enqueue_keys.job_ids::jsonb->>0 AND jobs.state = ANY($2)))`, [p.before, [...ACTIVE_STATES]])).rowCount ?? 0
    );
  }

  async get(id: string): Promise<Job | null> {
    const { rows } = await this.pool.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] ? rowToJob(rows[0]) : null;
  }

  async list(f: ListFilter): Promise<JobPage> {
    const limit = Math.min(Math.max(f.limit ?? LIST_DEFAULTS.limit, 1), LIST_DEFAULTS.maxLimit);
    const w = whereOf(f, this.searchIndexed);
    // One state as `=`, so the (state, id) index hands rows over in order; ANY would sort them all.
    if (f.state?.length === 1) w.add('state = $?', f.state[0]);
    else if (f.state && f.state.length > 0) w.add('state = ANY($?)', f.state);
    const order = listOrderOf(f);
    for (const c of order.conditions) w.addEach(c.sql, c.values);
    const { rows } = await this.pool.query<JobRow>(`SELECT * FROM jobs ${w.sql()} ORDER BY ${order.orderBy} LIMIT ${limit + 1}`, w.args);
    const jobs = rows.slice(0, limit).map(rowToJob);
    const last = jobs[jobs.length - 1];
    return { jobs, nextCursor: rows.length > limit && last ? nextCursorOf(f, last) : null };
  }

  async counts(f: CountFilter): Promise<Record<JobState, number>> {
    const c = counterFilterOf(f);
    if (c) return this.counters.counts(c);
    const w = whereOf(f, this.searchIndexed);
    const { rows } = await this.pool.query<{ state: JobState; n: number }>(`SELECT state, count(*)::bigint AS n FROM jobs ${w.sql()} GROUP BY state`, w.args);
    return byState(rows);
  }

  async countsByQueue(f: CountFilter): Promise<Record<string, Record<JobState, number>>> {
    const c = counterFilterOf(f);
    if (c) return this.counters.countsByQueue(c);
    const w = whereOf(f, this.searchIndexed);
    const { rows } = await this.pool.query<{ queue: string; state: JobState; n: number }>(`SELECT queue, state, count(*)::bigint AS n FROM jobs ${w.sql()} GROUP BY queue, state`, w.args);
    return byQueue(rows);
  }

  async countsByOwner(f: CountFilter): Promise<Record<string, Record<JobState, number>>> {
    const c = counterFilterOf(f);
    if (c) return this.counters.countsByOwner(c);
    const w = whereOf(f, this.searchIndexed);
    const { rows } = await this.pool.query<{ queue: string; state: JobState; n: number }>(`SELECT COALESCE(owner, '') AS queue, state, count(*)::bigint AS n FROM jobs ${w.sql()} GROUP BY owner, state`, w.args);
    return byQueue(rows);
  }

  async foldCounts(): Promise<number> {
    return this.counters.fold();
  }

  async finishedPerBucket(p: { since: number; bucketMs: number }): Promise<FinishedBucketRow[]> {
    const { rows } = await this.pool.query<FinishedBucketRow>('SELECT (finished_at / $1) * $1 AS at, state, count(*)::bigint AS n FROM jobs WHERE finished_at >= $2 AND state = ANY($3) GROUP BY 1, 2 ORDER BY 1', [p.bucketMs, p.since, FINAL_STATES]);
    return rows.map((r) => ({ at: Number(r.at), state: r.state, n: Number(r.n) }));
  }

  async cancel(p: { id: string; now: number }): Promise<Job> {
    return inTransaction(this.pool, async (c) => cancelTree(c, await mustGetForUpdate(c, p.id), p.now));
  }

  async retry(p: { id: string; now: number }): Promise<Job> {
    return inTransaction(this.pool, async (c) => {
      const job = await retryTree(c, await mustGetForUpdate(c, p.id), p.now);
      await reopenAncestors(c, job.parentId, p.now);
      await this.notifyWork(c);
      return job;
    });
  }

  async settleParents(p: { ids?: string[]; now: number }): Promise<Job[]> {
    if (p.ids?.length === 0) return [];
    return inTransaction(this.pool, (c) => settleParents(c, p.ids, p.now));
  }

  async claim(p: ClaimParams): Promise<Job[]> {
    return claimJobs(this.pool, p);
  }

  async heartbeat(p: { worker: string; items: HeartbeatItem[]; leaseMs: number; now: number }): Promise<HeartbeatAnswer[]> {
    if (p.items.length === 0) return [];
    const expires = p.now + p.leaseMs;
    const { rows } = await this.pool.query<{ id: string; lease_token: string; stop_reason: StopReason | null }>(
      `UPDATE jobs SET lease_expires_at = $4, progress = COALESCE(u.progress, jobs.progress), updated_at = $5
        FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, token, progress)
        WHERE jobs.id = u.id AND jobs.lease_token = u.token AND jobs.state = 'running'
        RETURNING jobs.id, jobs.lease_token, jobs.stop_reason`,
      [p.items.map((i) => i.id), p.items.map((i) => i.token), p.items.map((i) => toJsonOrNull(i.progress)), expires, p.now],
    );
    // Keyed by id and token: an item with a stale token is lost even beside a valid one.
    const held = new Map(rows.map((r) => [`${r.id} ${r.lease_token}`, r.stop_reason]));
    return p.items.map((it): HeartbeatAnswer => {
      const key = `${it.id} ${it.token}`;
      if (!held.has(key)) return { id: it.id, status: 'lost' };
      const reason = held.get(key);
      return reason ? { id: it.id, status: 'stop', reason, leaseExpiresAt: expires } : { id: it.id, status: 'ok', leaseExpiresAt: expires };
    });
  }

  async complete(p: { items: SettleItem[]; now: number; random?: () => number }): Promise<CompleteAnswer[]> {
    if (p.items.length === 0) return [];
    return inTransaction(this.pool, async (c) => {
      const { answers, freed } = await completeJobs(c, p.items, p.now, p.random);
      if (freed) await this.notifyWork(c);
      return answers;
    });
  }

  async stopsFor(p: { worker: string }): Promise<Array<{ id: string; reason: StopReason }>> {
    const { rows } = await this.pool.query<{ id: string; reason: StopReason }>(
      `SELECT id, stop_reason AS reason FROM jobs WHERE state = 'running' AND lease_worker = $1 AND stop_reason IS NOT NULL`,
      [p.worker],
    );
    return rows;
  }

  async appendLog(p: { jobId: string; chunks: LogChunk[]; now: number }): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      // One writer per job's log at a time, whichever coordinator it reaches.
      const { rowCount } = await c.query('SELECT 1 FROM jobs WHERE id = $1 FOR SHARE', [p.jobId]);
      if (!rowCount) throw new NotFoundError(`no job ${p.jobId}`);
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7071))', [p.jobId]);
      const seq = Number((await c.query<{ s: number }>('SELECT COALESCE(MAX(seq), 0) AS s FROM job_logs WHERE job_id = $1', [p.jobId])).rows[0]?.s ?? 0);
      if (p.chunks.length === 0) return;
      await c.query(
        `INSERT INTO job_logs (job_id, seq, ts, stream, text)
          SELECT $1, $2 + u.n, u.ts, u.stream, u.text FROM unnest($3::bigint[], $4::text[], $5::text[]) WITH ORDINALITY AS u(ts, stream, text, n)`,
        [p.jobId, seq, p.chunks.map((ch) => ch.ts ?? p.now), p.chunks.map((ch) => ch.stream), p.chunks.map((ch) => ch.text)],
      );
    });
  }

  async readLog(p: { jobId: string; after: number; limit: number }): Promise<StoredLogChunk[]> {
    const { rows } = await this.pool.query<StoredLogChunk>(
      'SELECT seq, ts, stream, text FROM job_logs WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [p.jobId, p.after, p.limit],
    );
    return rows;
  }

  async attempts(p: { jobId: string }): Promise<Attempt[]> {
    const { rows } = await this.pool.query<AttemptRow>('SELECT * FROM job_attempts WHERE job_id = $1 ORDER BY attempt', [p.jobId]);
    return attemptsOf(rows, (await this.pool.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [p.jobId])).rows[0]);
  }

  async promoteDue(p: { now: number }): Promise<number> {
    const r = await this.pool.query(`UPDATE jobs SET state = 'queued', updated_at = $1 WHERE state = 'waiting' AND run_at <= $1`, [p.now]);
    if (r.rowCount) await this.notifyWork(this.pool, r.rowCount);
    return r.rowCount ?? 0;
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.pool.query<{ t: number | null }>(`SELECT MIN(run_at) AS t FROM jobs WHERE state = 'waiting'`);
    return rows[0]?.t ?? null;
  }

  async reapExpiredLeases(p: { now: number }): Promise<Job[]> {
    return inTransaction(this.pool, async (c) => {
      const out = await reapExpiredLeases(c, p.now);
      if (out.some((j) => j.state === 'queued')) await this.notifyWork(c);
      return out;
    });
  }

  async markTimedOut(p: { now: number }): Promise<Job[]> {
    const { rows } = await this.pool.query<JobRow>(
      `UPDATE jobs SET stop_reason = 'timed_out', updated_at = $1
        WHERE state = 'running' AND deadline_at IS NOT NULL AND deadline_at <= $1 AND stop_reason IS NULL RETURNING *`,
      [p.now],
    );
    for (const w of new Set(rows.map((r) => r.lease_worker))) if (w) await this.pool.query('SELECT pg_notify($1, $2)', [STOP_CHANNEL, w]);
    return rows.map(rowToJob);
  }

  async importJobs(p: { jobs: Job[]; attempts: Attempt[] }): Promise<number> {
    return inTransaction(this.pool, async (c) => {
      let added = 0;
      for (const j of p.jobs) {
        const row = jobToRow(j);
        const values = JOB_COLUMNS.map((k) => row[k]);
        const r = await c.query(`INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (id) DO NOTHING`, values);
        added += r.rowCount ?? 0;
      }
      for (const a of p.attempts) await c.query(RECORD_ATTEMPT, [a.jobId, a.attempt, a.worker, a.startedAt, a.endedAt, a.outcome, a.error]);
      return added;
    });
  }

  async jobsWithSecrets(p: { after: string | null; limit: number }): Promise<JobSecrets[]> {
    const { rows } = await this.pool.query<{ id: string; params: string; secrets: string }>(
      `SELECT id, params, secrets FROM jobs WHERE id > $1 AND json_array_length(secrets::json) > 0 ORDER BY id LIMIT $2`,
      [p.after ?? '', p.limit],
    );
    return rows.map((r) => ({ id: r.id, params: JSON.parse(r.params), secrets: JSON.parse(r.secrets) }));
  }

  async updateParams(p: { jobs: Array<Pick<Job, 'id' | 'params'>> }): Promise<number> {
    if (p.jobs.length === 0) return 0;
    // One statement: all of the batch or none of it.
    const r = await this.pool.query(`UPDATE jobs SET params = u.params FROM unnest($1::text[], $2::text[]) AS u(id, params) WHERE jobs.id = u.id`, [
      p.jobs.map((j) => j.id),
      p.jobs.map((j) => JSON.stringify(j.params)),
    ]);
    return r.rowCount ?? 0;
  }

  async deleteFinished(p: { before: number; limit: number; states?: JobState[] }): Promise<number> {
    const r = await this.pool.query(
      // A child stays while its parent waits: the parent's end reads it.
      `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = ANY($3) AND finished_at < $1
        AND (parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs p WHERE p.id = jobs.parent_id AND p.state = 'awaiting_children'))
        LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [p.before, p.limit, finalOnly(p.states)],
    );
    return r.rowCount ?? 0;
  }

  private leader: pg.Client | null = null;

  async tryLead(): Promise<boolean> {
    if (this.closed) return false;
    try {
      if (!this.leader) {
        const c = new pg.Client({ connectionString: this.o.url });
        c.on('error', () => undefined);
        c.on('end', () => {
          if (this.leader === c) this.leader = null;
        });
        await c.connect();
        this.leader = c;
      }
      const { rows } = await this.leader.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK]);
      return rows[0]?.ok === true;
    } catch {
      await this.leader?.end().catch(() => undefined);
      this.leader = null;
      return false;
    }
  }

  async upsertWorker(p: { worker: WorkerInfo; now: number }): Promise<void> {
    await this.pool.query(
      `INSERT INTO workers (name, info, first_seen, last_seen) VALUES ($1, $2, $3, $3)
        ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_seen = excluded.last_seen`,
      [p.worker.name, JSON.stringify(p.worker), p.now],
    );
  }

  async touchWorker(p: { name: string; running: number; now: number }): Promise<void> {
    await this.pool.query(`UPDATE workers SET last_seen = $3, info = jsonb_set(info::jsonb, '{running}', to_jsonb($2::int))::text WHERE name = $1`, [p.name, p.running, p.now]);
  }

  async runningByWorker(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ w: string; n: string }>(`SELECT lease_worker AS w, count(*) AS n FROM jobs WHERE state = 'running' AND lease_worker IS NOT NULL GROUP BY lease_worker`);
    return Object.fromEntries(rows.map((r) => [r.w, Number(r.n)]));
  }

  async deleteWorkers(p: { before: number }): Promise<number> {
    return (await this.pool.query('DELETE FROM workers WHERE last_seen < $1', [p.before])).rowCount ?? 0;
  }

  putSchedule(s: Schedule, o?: { keepRun?: boolean }): Promise<void> {
    return this.schedules.putSchedule(s, o);
  }

  getSchedule(name: string): Promise<Schedule | null> {
    return this.schedules.getSchedule(name);
  }

  listSchedules(): Promise<Schedule[]> {
    return this.schedules.listSchedules();
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.schedules.deleteSchedule(name);
  }

  advanceSchedule(p: ScheduleAdvance): Promise<boolean> {
    return this.schedules.advanceSchedule(p);
  }

  addToken(t: StoredToken): Promise<void> {
    return this.tokens.addToken(t);
  }

  tokenById(id: string): Promise<StoredToken | null> {
    return this.tokens.tokenById(id);
  }

  listTokens(): Promise<StoredToken[]> {
    return this.tokens.listTokens();
  }

  deleteToken(name: string): Promise<StoredToken | null> {
    return this.tokens.deleteToken(name);
  }

  touchToken(p: { id: string; now: number }): Promise<void> {
    return this.tokens.touchToken(p);
  }

  async setQueuePaused(p: { queue: string; paused: boolean; now: number }): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      if (p.paused) await c.query('INSERT INTO paused_queues (queue, paused_at) VALUES ($1, $2) ON CONFLICT (queue) DO NOTHING', [p.queue, p.now]);
      else if ((await c.query('DELETE FROM paused_queues WHERE queue = $1', [p.queue])).rowCount) await this.notifyWork(c);
    });
  }

  async pausedQueues(): Promise<Array<{ queue: string; pausedAt: number }>> {
    const { rows } = await this.pool.query<{ queue: string; paused_at: string }>('SELECT queue, paused_at FROM paused_queues ORDER BY queue');
    return rows.map((r) => ({ queue: r.queue, pausedAt: Number(r.paused_at) }));
  }

  async revokeLeases(p: { worker: string; now: number }): Promise<Job[]> {
    return inTransaction(this.pool, async (c) => {
      const out = await revokeLeases(c, p.worker, p.now);
      if (out.some((j) => j.state === 'queued')) await this.notifyWork(c);
      return out;
    });
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const { rows } = await this.pool.query<{ info: string; first_seen: number; last_seen: number }>('SELECT info, first_seen, last_seen FROM workers ORDER BY name');
    return rows.map((r) => ({ ...(JSON.parse(r.info) as WorkerInfo), firstSeen: r.first_seen, lastSeen: r.last_seen }));
  }

  /**
   * Wakes long polls on every coordinator (delivered when the transaction commits): as many as
   * `jobs` (unknown: all). The payload is `INSTANCE JOBS` (listener.ts).
   */
  private async notifyWork(q: pg.Pool | pg.PoolClient, jobs?: number): Promise<void> {
    await q.query('SELECT pg_notify($1, $2)', [WORK_CHANNEL, workPayload(this.instance, jobs)]);
  }

  private closed = false;
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.leader?.end().catch(() => undefined);
    await this.pool.end();
  }
}

async function mustGetForUpdate(c: pg.PoolClient, id: string): Promise<Job> {
  const { rows } = await c.query<JobRow>('SELECT * FROM jobs WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new NotFoundError(`no job ${id}`);
  return rowToJob(rows[0]);
}
