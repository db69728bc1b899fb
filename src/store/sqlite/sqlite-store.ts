import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, ConflictError, NotFoundError, errorMessage } from '../../core/errors.js';
import { JOB_STATES, type Attempt, type Job, type JobState, type StopReason } from '../../core/job.js';
import type {
  ClaimParams,
  CompleteAnswer,
  CompleteItem,
  CountFilter,
  HeartbeatAnswer,
  HeartbeatItem,
  JobPage,
  JobStore,
  ListFilter,
  LogChunk,
  ResolvedNewJob,
  StoredLogChunk,
  WorkerInfo,
  WorkerRecord,
} from '../store.js';
import { migrate, SQLITE_MIGRATIONS } from './migrations.js';
import { prepareStatements, type Statements } from './statements.js';
import { claimJobs } from './claim.js';
import { nextStateAfter } from '../transitions.js';
import { attemptsOf, jobToRow, newJobOf, rowToJob, toJsonOrNull, type AttemptRow, type JobRow } from '../rows.js';

export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. Its directory is created if missing. */
  path: string;
  /**
   * SQLite `synchronous` pragma. Default `NORMAL`: with WAL a commit survives a crash of the
   * process, and only a power loss can drop the last commits. `FULL` survives that too, slower.
   */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
}

/** The embedded default store: one SQLite file in WAL mode, used by one coordinator. */
export class SqliteJobStore implements JobStore {
  /** One coordinator per SQLite file: every change goes through it. */
  readonly shared = false;
  private readonly db: Database.Database;
  private readonly stmts: Statements;

  private constructor(db: Database.Database) {
    this.db = db;
    this.stmts = prepareStatements(db);
  }

  /** Opens (creating if needed) and migrates the database. Throws ConfigError with the reason. */
  static open(opts: SqliteStoreOptions): SqliteJobStore {
    let db: Database.Database;
    try {
      if (opts.path !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(opts.path)), { recursive: true });
      db = new Database(opts.path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db, SQLITE_MIGRATIONS);
    } catch (err) {
      throw new ConfigError(`cannot open the SQLite database at ${opts.path}: ${errorMessage(err)}`);
    }
    return new SqliteJobStore(db);
  }

  /** The schema version the database is at. */
  schemaVersion(): number {
    return (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  async enqueue(p: { jobs: ResolvedNewJob[]; now: number }): Promise<Job[]> {
    const insert = this.stmts.insert;
    const run = this.db.transaction((jobs: ResolvedNewJob[]) => {
      const out: Job[] = [];
      for (const j of jobs) {
        const state: JobState = j.runAt > p.now ? 'waiting' : 'queued';
        insert.run({
          id: j.id,
          queue: j.queue,
          kind: j.kind,
          template: j.template,
          params: JSON.stringify(j.params),
          secrets: JSON.stringify(j.secrets),
          owner: j.owner,
          tags: JSON.stringify(j.tags),
          priority: j.priority,
          state,
          run_at: j.runAt,
          max_attempts: j.maxAttempts,
          backoff_ms: j.backoffMs,
          backoff_max_ms: j.backoffMaxMs,
          time_limit_ms: j.timeLimitMs,
          concurrency_key: j.concurrencyKey,
          concurrency_limit: j.concurrencyLimit,
          now: p.now,
        });
        out.push(newJobOf(j, p.now));
      }
      return out;
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

  async get(id: string): Promise<Job | null> {
    const row = this.stmts.get.get(id) as JobRow | undefined;
    return row ? rowToJob(row) : null;
  }

  async list(f: ListFilter): Promise<JobPage> {
    const limit = Math.min(Math.max(f.limit ?? 100, 1), 1000);
    const { where, args } = whereOf(f);
    if (f.state && f.state.length > 0) {
      where.push(`state IN (${f.state.map(() => '?').join(',')})`);
      args.push(...f.state);
    }
    if (f.cursor) {
      where.push('id > ?');
      args.push(f.cursor);
    }
    const sql = `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, limit + 1) as JobRow[];
    const more = rows.length > limit;
    const jobs = rows.slice(0, limit).map(rowToJob);
    return { jobs, nextCursor: more ? (jobs[jobs.length - 1]?.id ?? null) : null };
  }

  async counts(f: CountFilter): Promise<Record<JobState, number>> {
    const { where, args } = whereOf(f);
    const sql = `SELECT state, COUNT(*) AS n FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} GROUP BY state`;
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const r of this.db.prepare(sql).all(...args) as Array<{ state: JobState; n: number }>) out[r.state] = r.n;
    return out;
  }

  async cancel(p: { id: string; now: number }): Promise<Job> {
    return this.db.transaction(() => {
      const job = this.mustGet(p.id);
      if (job.state === 'waiting' || job.state === 'queued') {
        return rowToJob(this.stmts.finish.get({ id: p.id, state: 'canceled', error: 'canceled before it started', now: p.now }) as JobRow);
      }
      if (job.state === 'running') {
        if (job.stopReason) return job;
        return rowToJob(this.stmts.requestStop.get({ id: p.id, reason: 'canceled', now: p.now }) as JobRow);
      }
      throw new ConflictError(`job ${p.id} is already ${job.state}`);
    })();
  }

  async retry(p: { id: string; now: number }): Promise<Job> {
    return this.db.transaction(() => {
      const job = this.mustGet(p.id);
      if (job.state !== 'failed' && job.state !== 'timed_out' && job.state !== 'canceled') {
        throw new ConflictError(`job ${p.id} is ${job.state}; only failed, timed_out or canceled jobs can be retried`);
      }
      // The ended attempt leaves the job row now: keep it in the history.
      if (job.attempt > 0 && job.startedAt !== null) this.recordAttempt(job, job.state, job.error, job.finishedAt ?? p.now);
      return rowToJob(this.stmts.retry.get({ id: p.id, now: p.now }) as JobRow);
    })();
  }

  async claim(p: ClaimParams): Promise<Job[]> {
    return claimJobs(this.db, this.stmts, p);
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

  async complete(p: { items: CompleteItem[]; now: number; random?: () => number }): Promise<CompleteAnswer[]> {
    return this.db.transaction(() =>
      p.items.map((it): CompleteAnswer => {
        if (it.outcome === 'succeeded') {
          // The common case in one statement: no need to read the row first.
          const r = this.stmts.succeed.get({ id: it.id, token: it.token, result: toJsonOrNull(it.result), progress: toJsonOrNull(it.progress), now: p.now }) as
            | { key: string | null }
            | undefined;
          if (!r) return { id: it.id, status: 'stale' };
          return r.key === null ? { id: it.id, status: 'ok', state: 'succeeded' } : { id: it.id, status: 'ok', state: 'succeeded', freesSlot: true };
        }
        const row = this.stmts.held.get({ id: it.id, token: it.token }) as JobRow | undefined;
        if (!row) return { id: it.id, status: 'stale' };
        const job = rowToJob(row);
        const { state, runAt } = nextStateAfter(job, it, p.now, p.random);
        const error = state === 'succeeded' ? null : (it.error ?? (job.stopReason ? `stopped: ${job.stopReason}` : null));
        if (it.release && state === 'queued') this.stmts.allowOneMore.run({ id: it.id });
        this.stmts.settle.run({
          id: it.id,
          state,
          run_at: runAt,
          result: toJsonOrNull(it.result),
          error,
          progress: it.progress === undefined ? row.progress : toJsonOrNull(it.progress),
          finished: state === 'waiting' || state === 'queued' ? null : p.now,
          now: p.now,
        });
        if (state === 'waiting' || state === 'queued') this.recordAttempt(job, it.release ? 'released' : 'failed', error, p.now);
        return job.concurrencyKey === null ? { id: it.id, status: 'ok', state } : { id: it.id, status: 'ok', state, freesSlot: true };
      }),
    )();
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
    return this.db.transaction(() => {
      const rows = this.stmts.expired.all({ now: p.now }) as JobRow[];
      return rows.map((row) => {
        const job = rowToJob(row);
        const reason = `lease expired: worker ${job.lease?.worker ?? '?'} stopped sending heartbeats`;
        let state: JobState;
        if (job.stopReason) state = job.stopReason;
        else state = job.attempt < job.maxAttempts ? 'queued' : 'failed';
        this.stmts.settle.run({
          id: job.id,
          state,
          run_at: p.now,
          result: null,
          error: reason,
          progress: row.progress,
          finished: state === 'queued' ? null : p.now,
          now: p.now,
        });
        this.recordAttempt(job, 'lost', reason, p.now);
        return rowToJob(this.stmts.get.get(job.id) as JobRow);
      });
    })();
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

  async deleteFinished(p: { before: number; limit: number }): Promise<number> {
    // Logs and attempts go with their job (ON DELETE CASCADE); small batches keep the write lock short.
    return this.stmts.deleteFinished.run({ before: p.before, limit: p.limit }).changes;
  }

  async upsertWorker(p: { worker: WorkerInfo; now: number }): Promise<void> {
    this.stmts.upsertWorker.run({ name: p.worker.name, info: JSON.stringify(p.worker), now: p.now });
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const rows = this.stmts.workers.all() as Array<{ info: string; first_seen: number; last_seen: number }>;
    return rows.map((r) => ({ ...(JSON.parse(r.info) as WorkerInfo), firstSeen: r.first_seen, lastSeen: r.last_seen }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private recordAttempt(job: Job, outcome: string, error: string | null, now: number): void {
    const worker = job.lease?.worker ?? (this.stmts.leaseWorker.get(job.id) as { w: string | null } | undefined)?.w ?? '?';
    this.stmts.recordAttempt.run({ id: job.id, attempt: job.attempt, worker, started: job.startedAt ?? now, outcome, error, now });
  }

  private mustGet(id: string): Job {
    const row = this.stmts.get.get(id) as JobRow | undefined;
    if (!row) throw new NotFoundError(`no job ${id}`);
    return rowToJob(row);
  }
}

function whereOf(f: CountFilter): { where: string[]; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    where.push(`${col} = ?`);
    args.push(v);
  };
  eq('queue', f.queue);
  eq('owner', f.owner);
  eq('template', f.template);
  eq('kind', f.kind);
  if (f.tag !== undefined) {
    where.push('EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE value = ?)');
    args.push(f.tag);
  }
  if (f.finishedSince !== undefined) {
    where.push('finished_at >= ?');
    args.push(f.finishedSince);
  }
  return { where, args };
}
