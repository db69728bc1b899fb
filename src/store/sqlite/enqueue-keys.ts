import type Database from 'better-sqlite3';
import type { Job } from '../../core/job.js';
import { ACTIVE_STATES } from '../../core/job.js';
import { ENQUEUE_KEY_TTL_MS, jobKeyOf, keyReusedError, requestKeyOf, uniqueKeyOf, type EnqueueKeyRow, type KeyedEnqueue, type KeyedEnqueueResult } from '../enqueue-keys.js';
import { newJobOf, rowToJob, type JobRow } from '../rows.js';
import type { ResolvedNewJob } from '../store.js';
import { insertJobs } from './children.js';
import type { Statements } from './statements.js';

/** Enqueues under idempotency keys (store/enqueue-keys.ts) in SQLite: keys and jobs in one transaction. */
export class SqliteEnqueueKeys {
  private readonly get: Database.Statement;
  private readonly getAny: Database.Statement;
  private readonly put: Database.Statement;
  private readonly prune: Database.Statement;
  private readonly job: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly stmts: Statements,
  ) {
    this.get = db.prepare('SELECT fingerprint, job_ids FROM enqueue_keys WHERE key = ? AND created_at >= ?');
    this.getAny = db.prepare('SELECT fingerprint, job_ids FROM enqueue_keys WHERE key = ?');
    // A key past its TTL but not yet pruned is taken over.
    this.put = db.prepare(`INSERT INTO enqueue_keys (key, fingerprint, job_ids, created_at) VALUES (@key, @fingerprint, @ids, @now)
      ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, job_ids = excluded.job_ids, created_at = excluded.created_at`);
    // A unique key stays while its job has not ended, however old.
    this.prune = db.prepare(`DELETE FROM enqueue_keys WHERE created_at < ? AND NOT (key LIKE 'unique:%'
      AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = json_extract(enqueue_keys.job_ids, '$[0]') AND jobs.state IN (${ACTIVE_STATES.map((s) => `'${s}'`).join(', ')})))`);
    this.job = db.prepare('SELECT * FROM jobs WHERE id = ?');
  }

  enqueue(p: KeyedEnqueue): KeyedEnqueueResult {
    return this.db.transaction((): KeyedEnqueueResult => {
      const since = p.now - ENQUEUE_KEY_TTL_MS;
      if (p.request) {
        const seen = this.get.get(requestKeyOf(p.request.key), since) as EnqueueKeyRow | undefined;
        if (seen) {
          if (seen.fingerprint !== p.request.fingerprint) throw keyReusedError(p.request.key);
          const jobs = this.jobsOf(seen);
          return { jobs, created: jobs.map(() => false), replayed: true };
        }
      }
      const jobs: Job[] = [];
      const created: boolean[] = [];
      const fresh: ResolvedNewJob[] = [];
      // A key given twice in one batch: the first job is made, the second answered with it.
      const inBatch = new Map<string, Job>();
      p.jobs.forEach((j, i) => {
        const key = p.jobKeys?.[i] ?? null;
        const unique = p.uniqueKeys?.[i] ?? null;
        const before =
          (key === null ? undefined : (inBatch.get(jobKeyOf(key)) ?? this.jobsOf(this.get.get(jobKeyOf(key), since) as EnqueueKeyRow | undefined)[0])) ??
          (unique === null ? undefined : (inBatch.get(uniqueKeyOf(unique)) ?? this.jobsOf(this.getAny.get(uniqueKeyOf(unique)) as EnqueueKeyRow | undefined).find((x) => ACTIVE_STATES.includes(x.state))));
        if (before) {
          jobs.push(before);
          created.push(false);
          return;
        }
        const job = newJobOf(j, p.now);
        fresh.push(j);
        jobs.push(job);
        created.push(true);
        for (const k of [key === null ? null : jobKeyOf(key), unique === null ? null : uniqueKeyOf(unique)]) {
          if (k === null) continue;
          inBatch.set(k, job);
          this.put.run({ key: k, fingerprint: null, ids: JSON.stringify([j.id]), now: p.now });
        }
      });
      insertJobs(this.stmts, fresh, p.now);
      if (p.request) this.put.run({ key: requestKeyOf(p.request.key), fingerprint: p.request.fingerprint, ids: JSON.stringify(jobs.map((j) => j.id)), now: p.now });
      return { jobs, created, replayed: false };
    })();
  }

  /** Forgets keys made before `before` (epoch ms); returns how many. */
  pruneKeys(before: number): number {
    return this.prune.run(before).changes;
  }

  /** The jobs a key made that are still in the store (retention may have deleted some). */
  private jobsOf(row: EnqueueKeyRow | undefined): Job[] {
    if (!row) return [];
    return (JSON.parse(row.job_ids) as string[]).flatMap((id) => {
      const r = this.job.get(id) as JobRow | undefined;
      return r ? [rowToJob(r)] : [];
    });
  }
}
