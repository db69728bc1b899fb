import type pg from 'pg';
import { byQueue, byState, type JobState } from '../../core/job.js';

/** Both tables as one: the folded counts and the deltas not folded yet (migration 11). */
const ALL = `(SELECT queue, owner, state, n FROM job_counts UNION ALL SELECT queue, owner, state, n FROM job_count_deltas) c
  WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR owner = $2)`;

type Scope = { queue: string | null; owner: string | null };

/** Counts of jobs per queue, owner and state (store/counters.ts), on PostgreSQL. */
export class PgCounters {
  constructor(private readonly pool: pg.Pool) {}

  async counts(c: Scope): Promise<Record<JobState, number>> {
    const { rows } = await this.pool.query<{ state: JobState; n: number }>(`SELECT state, sum(n)::bigint AS n FROM ${ALL} GROUP BY state`, [c.queue, c.owner]);
    return byState(rows);
  }

  async countsByQueue(c: Scope): Promise<Record<string, Record<JobState, number>>> {
    // Queues whose jobs are all gone keep rows of 0: left out, as a count(*) would.
    const { rows } = await this.pool.query<{ queue: string; state: JobState; n: number }>(`SELECT queue, state, sum(n)::bigint AS n FROM ${ALL} GROUP BY queue, state HAVING sum(n) > 0`, [c.queue, c.owner]);
    return byQueue(rows);
  }

  async countsByOwner(c: Scope): Promise<Record<string, Record<JobState, number>>> {
    const { rows } = await this.pool.query<{ queue: string; state: JobState; n: number }>(`SELECT owner AS queue, state, sum(n)::bigint AS n FROM ${ALL} GROUP BY owner, state HAVING sum(n) > 0`, [c.queue, c.owner]);
    return byQueue(rows);
  }

  /**
   * Folds the deltas into job_counts; returns how many delta rows it folded. Safe while others
   * fold: a delta row is deleted, and so counted, by one transaction only. Counts read in one
   * statement see the rows before the fold or after it, never both.
   */
  async fold(): Promise<number> {
    const { rows } = await this.pool.query<{ folded: number }>(`WITH d AS (DELETE FROM job_count_deltas RETURNING queue, owner, state, n),
      s AS (INSERT INTO job_counts (queue, owner, state, n) SELECT queue, owner, state, sum(n) FROM d GROUP BY 1, 2, 3
        ON CONFLICT (queue, owner, state) DO UPDATE SET n = job_counts.n + EXCLUDED.n)
      SELECT count(*)::bigint AS folded FROM d`);
    return rows[0]?.folded ?? 0;
  }
}
