import type Database from 'better-sqlite3';
import { byQueue, byState, type JobState } from '../../core/job.js';

/** Counts of jobs per queue, owner and state from `job_counts` (store/counters.ts; migration 11 keeps it). */
export class SqliteCounters {
  private readonly byState: Database.Statement;
  private readonly perQueue: Database.Statement;
  private readonly perOwner: Database.Statement;

  constructor(db: Database.Database) {
    const where = 'WHERE (@queue IS NULL OR queue = @queue) AND (@owner IS NULL OR owner = @owner)';
    this.byState = db.prepare(`SELECT state, SUM(n) AS n FROM job_counts ${where} GROUP BY state`);
    // Queues and owners whose jobs are all gone keep rows of 0: left out, as a COUNT(*) would.
    this.perQueue = db.prepare(`SELECT queue, state, SUM(n) AS n FROM job_counts ${where} GROUP BY queue, state HAVING SUM(n) > 0`);
    this.perOwner = db.prepare(`SELECT owner AS queue, state, SUM(n) AS n FROM job_counts ${where} GROUP BY owner, state HAVING SUM(n) > 0`);
  }

  counts(c: { queue: string | null; owner: string | null }): Record<JobState, number> {
    return byState(this.byState.all(c) as Array<{ state: JobState; n: number }>);
  }

  countsByQueue(c: { queue: string | null; owner: string | null }): Record<string, Record<JobState, number>> {
    return byQueue(this.perQueue.all(c) as Array<{ queue: string; state: JobState; n: number }>);
  }

  countsByOwner(c: { queue: string | null; owner: string | null }): Record<string, Record<JobState, number>> {
    return byQueue(this.perOwner.all(c) as Array<{ queue: string; state: JobState; n: number }>);
  }
}
