import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, ConflictError, NotFoundError, errorMessage } from '../../core/errors.js';
import { LIST_DEFAULTS, type CountFilter, type JobPage, type ListFilter } from '../../core/job-filter.js';
import { byQueue, byState, FINAL_STATES, finalOnly, type Attempt, type Job, type JobState, type StopReason } from '../../core/job.js';
import type { CompleteAnswer, HeartbeatAnswer, HeartbeatItem, LogChunk, StoredLogChunk, WorkerInfo, WorkerRecord } from '../../core/reports.js';
import { attemptsOf, jobToRow, newJobOf, rowToJob, toJsonOrNull, type AttemptRow, type JobRow } from '../rows.js';
import type { Schedule } from '../../core/schedule.js';
import type { ScheduleAdvance } from '../schedule-rows.js';
import { SqliteSchedules } from './schedules.js';
import { SqliteTokens } from './tokens.js';
import { SqliteEnqueueKeys } from './enqueue-keys.js';
import type { KeyedEnqueue, KeyedEnqueueResult } from '../enqueue-keys.js';
import type { ClaimParams, FinishedBucketRow, JobSecrets, JobStore, ResolvedNewJob, SearchIndexChange, SettleItem, StoredToken } from '../store.js';
import { cancelTree, insertJobs, reopenAncestors, retryTree, settleParents } from './children.js';
import { claimJobs } from './claim.js';
import { completeJobs, reapExpiredLeases, revokeLeases } from './complete.js';
import { migrate, SQLITE_MIGRATIONS } from './migrations.js';
import { prepareStatements, type Statements } from './statements.js';
import { SqliteSearchIndex } from './search-index.js';
import { nextCursorOf } from '../list-order.js';
import { whereOf } from './where.js';
import { SqliteCounters } from './counters.js';
import { FirstCandidates } from './first-candidates.js';
import { startCheckpointer, WAL_AUTOCHECKPOINT_PAGES, type Checkpointer } from './checkpointer.js';
import { counterFilterOf } from '../counters.js';

export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. Its directory is created if missing. */
  path: string;
  /**
   * SQLite `synchronous` pragma. Default `NORMAL`: with WAL a commit survives a crash of the
   * process, and only a power loss can drop the last commits. `FULL` survives that too, slower.
   */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
  /** Told when the text search index falls behind, and why (a full disk, say). */
  onSearchIndexError?: (message: string) => void;
}

/** The embedded default store: one SQLite file in WAL mode, used by one coordinator. */
export class SqliteJobStore implements JobStore {
  /** One coordinator per SQLite file: every change goes through it. */
  readonly shared = false;
  private readonly db: Database.Database;
  private readonly stmts: Statements;
  private readonly schedules: SqliteSchedules;
  private readonly tokens: SqliteTokens;
  private readonly keys: SqliteEnqueueKeys;
  private readonly search: SqliteSearchIndex;
  private readonly counters: SqliteCounters;
  private readonly firstCandidates: FirstCandidates;

  private constructor(
    db: Database.Database,
    search: SqliteSearchIndex,
    /** Null for an in-memory database. */
    private readonly checkpointer: Checkpointer | null,
  ) {
    this.db = db;
    this.search = search;
    this.stmts = prepareStatements(db);
    this.schedules = new SqliteSchedules(db);
    this.tokens = new SqliteTokens(db);
    this.keys = new SqliteEnqueueKeys(db, this.stmts);
    this.counters = new SqliteCounters(db);
    this.firstCandidates = new FirstCandidates(db);
  }

  /** Opens (creating if needed) and migrates the database. Throws ConfigError with the reason. */
  static open(opts: SqliteStoreOptions): SqliteJobStore {
    let db: Database.Database;
    let search: SqliteSearchIndex;
    try {
      if (opts.path !== ':memory:') {
        // The jobs' params are in it: only its owner reads it (SQLite gives its -wal and -shm files the same mode).
        fs.mkdirSync(path.dirname(path.resolve(opts.path)), { recursive: true, mode: 0o700 });
        fs.closeSync(fs.openSync(opts.path, 'a', 0o600));
        tightenMode(opts.path);
      }
      db = new Database(opts.path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      // The checkpoints are the thread's (checkpointer.ts); SQLite's own only past this bound.
      if (opts.path !== ':memory:') db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      migrate(db, SQLITE_MIGRATIONS);
      search = new SqliteSearchIndex(db, opts.path === ':memory:' ? null : path.resolve(opts.path), opts.onSearchIndexError);
    } catch (err) {
      throw new ConfigError(`cannot open the SQLite database at ${opts.path}: ${errorMessage(err)}`);
    }
    return new SqliteJobStore(db, search, opts.path === ':memory:' ? null : startCheckpointer(path.resolve(opts.path)));
  }

  /** The schema version the database is at. */
  schemaVersion(): number {
    return (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  async enqueue(p: { jobs: ResolvedNewJob[]; now: number }): Promise<Job[]> {
    const run = this.db.transaction((jobs: ResolvedNewJob[]) => {
      insertJobs(this.stmts, jobs, p.now);
      return jobs.map((j) => newJobOf(j, p.now));
    });
    try {
      return run(p.jobs);
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed: jobs.id/.test(err.message)) {
        throw new ConflictError(`a job with this id already exists`);
      }
      throw err;
    }
  }

  async enqueueKeyed(p: KeyedEnqueue): Promise<KeyedEnqueueResult> {
    try {
      return this.keys.enqueue(p);
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed: jobs.id/.test(err.message)) throw new ConflictError(`a job with this id already exists`);
      throw err;
    }
  }

  async checkpoint(): Promise<void> {
    // TRUNCATE: the WAL file back to 0 bytes, so space freed on the disk is not taken by it again.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async pruneEnqueueKeys(p: { before: number }): Promise<number> {
    return this.keys.pruneKeys(p.before);
  }

  async get(id: string): Promise<Job | null> {
    const row = this.stmts.get.get(id) as JobRow | undefined;
    return row ? rowToJob(row) : null;
  }

  async list(f: ListFilter): Promise<JobPage> {
    const limit = Math.min(Math.max(f.limit ?? LIST_DEFAULTS.limit, 1), LIST_DEFAULTS.maxLimit);
    const { sql: where, args, orderBy } = this.whereOf(f);
    const rows = this.db.prepare(`SELECT * FROM jobs ${where} ORDER BY ${orderBy} LIMIT ?`).all(...args, limit + 1) as JobRow[];
    const jobs = rows.slice(0, limit).map(rowToJob);
    const last = jobs[jobs.length - 1];
    return { jobs, nextCursor: rows.length > limit && last ? nextCursorOf(f, last) : null };
  }

  /** whereOf, narrowed by the text search index when it is on and can. */
  private whereOf(f: ListFilter): { sql: string; args: unknown[]; orderBy: string } {
    return whereOf(f, this.search.candidates(f.q));
  }

  async setSearchIndex(p: { on: boolean }): Promise<SearchIndexChange> {
    return this.search.set(p.on);
  }

  /** The text search index: on, built, the changes its thread has yet to index, its last error. */
  searchIndexState(): ReturnType<SqliteSearchIndex['state']> {
    return this.search.state();
  }

  async counts(f: CountFilter): Promise<Record<JobState, number>> {
    const c = counterFilterOf(f);
    if (c) return this.counters.counts(c);
    const { sql: where, args } = this.whereOf(f);
    const sql = `SELECT state, COUNT(*) AS n FROM jobs ${where} GROUP BY state`;
    return byState(this.db.prepare(sql).all(...args) as Array<{ state: JobState; n: number }>);
  }

  async countsByQueue(f: CountFilter): Promise<Record<string, Record<JobState, number>>> {
    const c = counterFilterOf(f);
    if (c) return this.counters.countsByQueue(c);
    const { sql: where, args } = this.whereOf(f);
    const rows = this.db.prepare(`SELECT queue, state, COUNT(*) AS n FROM jobs ${where} GROUP BY queue, state`).all(...args) as Array<{ queue: string; state: JobState; n: number }>;
    return byQueue(rows);
  }

  async countsByOwner(f: CountFilter): Promise<Record<string, Record<JobState, number>>> {
    const c = counterFilterOf(f);
    if (c) return this.counters.countsByOwner(c);
    const { sql: where, args } = this.whereOf(f);
    const rows = this.db.prepare(`SELECT COALESCE(owner, '') AS queue, state, COUNT(*) AS n FROM jobs ${where} GROUP BY owner, state`).all(...args) as Array<{ queue: string; state: JobState; n: number }>;
    return byQueue(rows);
  }

  async finishedPerBucket(p: { since: number; bucketMs: number }): Promise<FinishedBucketRow[]> {
    const sql = `SELECT (finished_at / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS at, state, COUNT(*) AS n FROM jobs INDEXED BY jobs_finished WHERE finished_at >= ? AND state IN (${FINAL_STATES.map(() => '?').join(',')}) GROUP BY 1, 2 ORDER BY 1`;
    return this.db.prepare(sql).all(p.bucketMs, p.bucketMs, p.since, ...FINAL_STATES) as FinishedBucketRow[];
  }

  async cancel(p: { id: string; now: number }): Promise<Job> {
    return this.db.transaction(() => cancelTree(this.stmts, this.mustGet(p.id), p.now))();
  }

  async retry(p: { id: string; now: number }): Promise<Job> {
    return this.db.transaction(() => {
      const job = retryTree(this.stmts, this.mustGet(p.id), p.now);
      reopenAncestors(this.stmts, job.parentId, p.now);
      return job;
    })();
  }

  async settleParents(p: { ids?: string[]; now: number }): Promise<Job[]> {
    if (p.ids?.length === 0) return [];
    return this.db.transaction(() => settleParents(this.stmts, p.ids, p.now))();
  }

  async claim(p: ClaimParams): Promise<Job[]> {
    return claimJobs(this.db, this.stmts, this.firstCandidates, p);
  }

  async heartbeat(p: { worker: string; items: HeartbeatItem[]; leaseMs: number; now: number }): Promise<HeartbeatAnswer[]> {
    return this.db.transaction(() =>
      p.items.map((it): HeartbeatAnswer => {
        const expires = p.now + p.leaseMs;
        const r = this.stmts.renew.get({ id: it.id, token: it.token, expires, progress: toJsonOrNull(it.progress), now: p.now }) as
          | { stop_reason: StopReason | null }
          | undefined;
        if (!r) return { id: it.id, status: 'lost' };
        if (r.stop_reason) return { id: it.id, status: 'stop', reason: r.stop_reason, leaseExpiresAt: expires };
        return { id: it.id, status: 'ok', leaseExpiresAt: expires };
      }),
    )();
  }

  async complete(p: { items: SettleItem[]; now: number; random?: () => number }): Promise<CompleteAnswer[]> {
    return completeJobs(this.db, this.stmts, p.items, p.now, p.random);
  }

  async stopsFor(p: { worker: string }): Promise<Array<{ id: string; reason: StopReason }>> {
    return this.stmts.stopsFor.all(p.worker) as Array<{ id: string; reason: StopReason }>;
  }

  async appendLog(p: { jobId: string; chunks: LogChunk[]; now: number }): Promise<void> {
    this.db.transaction(() => {
      if (!this.stmts.exists.get(p.jobId)) throw new NotFoundError(`no job ${p.jobId}`);
      let seq = (this.stmts.lastLogSeq.get(p.jobId) as { s: number }).s;
      for (const c of p.chunks) {
        this.stmts.insertLog.run({ job_id: p.jobId, seq: ++seq, ts: c.ts ?? p.now, stream: c.stream, text: c.text });
      }
    })();
  }

  async readLog(p: { jobId: string; after: number; limit: number }): Promise<StoredLogChunk[]> {
    return this.stmts.readLog.all({ job_id: p.jobId, after: p.after, limit: p.limit }) as StoredLogChunk[];
  }

  async attempts(p: { jobId: string }): Promise<Attempt[]> {
    return attemptsOf(this.stmts.attempts.all(p.jobId) as AttemptRow[], this.stmts.get.get(p.jobId) as JobRow | undefined);
  }

  async promoteDue(p: { now: number }): Promise<number> {
    return this.stmts.promote.run({ now: p.now }).changes;
  }

  async nextDueAt(): Promise<number | null> {
    return (this.stmts.nextDue.get() as { t: number | null }).t;
  }

  async reapExpiredLeases(p: { now: number }): Promise<Job[]> {
    return reapExpiredLeases(this.db, this.stmts, p.now);
  }

  async markTimedOut(p: { now: number }): Promise<Job[]> {
    return (this.stmts.markTimedOut.all({ now: p.now }) as JobRow[]).map(rowToJob);
  }

  async importJobs(p: { jobs: Job[]; attempts: Attempt[] }): Promise<number> {
    return this.db.transaction(() => {
      let added = 0;
      for (const j of p.jobs) added += this.stmts.importJob.run(jobToRow(j)).changes;
      for (const a of p.attempts) {
        this.stmts.recordAttempt.run({ id: a.jobId, attempt: a.attempt, worker: a.worker, started: a.startedAt, outcome: a.outcome, error: a.error, now: a.endedAt });
      }
      return added;
    })();
  }

  async jobsWithSecrets(p: { after: string | null; limit: number }): Promise<JobSecrets[]> {
    const rows = this.stmts.jobsWithSecrets.all({ after: p.after ?? '', limit: p.limit }) as Array<{ id: string; params: string; secrets: string }>;
    return rows.map((r) => ({ id: r.id, params: JSON.parse(r.params), secrets: JSON.parse(r.secrets) }));
  }

  async updateParams(p: { jobs: Array<Pick<Job, 'id' | 'params'>> }): Promise<number> {
    return this.db.transaction(() => p.jobs.reduce((n, j) => n + this.stmts.updateParams.run({ id: j.id, params: JSON.stringify(j.params) }).changes, 0))();
  }

  async deleteFinished(p: { before: number; limit: number; states?: JobState[] }): Promise<number> {
    // Logs and attempts go with their job (ON DELETE CASCADE); small batches keep the write lock short.
    return this.stmts.deleteFinished.run({ before: p.before, limit: p.limit, states: JSON.stringify(finalOnly(p.states)) }).changes;
  }

  async upsertWorker(p: { worker: WorkerInfo; now: number }): Promise<void> {
    this.stmts.upsertWorker.run({ name: p.worker.name, info: JSON.stringify(p.worker), now: p.now });
  }

  async touchWorker(p: { name: string; running: number; now: number }): Promise<void> {
    this.stmts.touchWorker.run(p);
  }

  async runningByWorker(): Promise<Record<string, number>> {
    return Object.fromEntries((this.stmts.runningByWorker.all() as Array<{ w: string; n: number }>).map((r) => [r.w, r.n]));
  }

  async deleteWorkers(p: { before: number }): Promise<number> {
    return this.stmts.deleteWorkers.run(p).changes;
  }

  async putSchedule(s: Schedule, o?: { keepRun?: boolean }): Promise<void> {
    this.schedules.putSchedule(s, o);
  }

  async getSchedule(name: string): Promise<Schedule | null> {
    return this.schedules.getSchedule(name);
  }

  async listSchedules(): Promise<Schedule[]> {
    return this.schedules.listSchedules();
  }

  async deleteSchedule(name: string): Promise<boolean> {
    return this.schedules.deleteSchedule(name);
  }

  async advanceSchedule(p: ScheduleAdvance): Promise<boolean> {
    return this.schedules.advanceSchedule(p);
  }

  async addToken(t: StoredToken): Promise<void> {
    this.tokens.addToken(t);
  }

  async tokenById(id: string): Promise<StoredToken | null> {
    return this.tokens.tokenById(id);
  }

  async listTokens(): Promise<StoredToken[]> {
    return this.tokens.listTokens();
  }

  async deleteToken(name: string): Promise<StoredToken | null> {
    return this.tokens.deleteToken(name);
  }

  async touchToken(p: { id: string; now: number }): Promise<void> {
    this.tokens.touchToken(p);
  }

  async revokeLeases(p: { worker: string; now: number }): Promise<Job[]> {
    return revokeLeases(this.db, this.stmts, p.worker, p.now);
  }

  async setQueuePaused(p: { queue: string; paused: boolean; now: number }): Promise<void> {
    if (p.paused) this.db.prepare('INSERT INTO paused_queues (queue, paused_at) VALUES (?, ?) ON CONFLICT (queue) DO NOTHING').run(p.queue, p.now);
    else this.db.prepare('DELETE FROM paused_queues WHERE queue = ?').run(p.queue);
  }

  async pausedQueues(): Promise<Array<{ queue: string; pausedAt: number }>> {
    return (this.db.prepare('SELECT queue, paused_at FROM paused_queues ORDER BY queue').all() as Array<{ queue: string; paused_at: number }>).map((r) => ({ queue: r.queue, pausedAt: r.paused_at }));
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const rows = this.stmts.workers.all() as Array<{ info: string; first_seen: number; last_seen: number }>;
    return rows.map((r) => ({ ...(JSON.parse(r.info) as WorkerInfo), firstSeen: r.first_seen, lastSeen: r.last_seen }));
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    await this.search.close();
    if (this.db.open) this.db.close();
  }

  private mustGet(id: string): Job {
    const row = this.stmts.get.get(id) as JobRow | undefined;
    if (!row) throw new NotFoundError(`no job ${id}`);
    return rowToJob(row);
  }
}

/** A database file made readable by others (by an older version) is made its owner's only. */
function tightenMode(file: string): void {
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  } catch {
    // Not ours to change (another owner): left as it is.
  }
}
