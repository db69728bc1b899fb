import type Database from 'better-sqlite3';
import { JOB_COLUMNS } from '../rows.js';

/**
 * The first round of a claim (nothing picked yet, the case of nearly every claim) as its own
 * statement, 9 µs for one job where the general `candidates` statement takes 120 µs:
 * - its LIMIT is a literal: with a bound `LIMIT ?` SQLite spends some 55 µs more per call on
 *   these joins. Statements are made per power of two (at most 15 of them) and the rows past
 *   the limit asked for are dropped;
 * - the short lists (kinds, templates, queues) are looked up per row with EXISTS: an `IN
 *   (SELECT ...)` builds a table and a Bloom filter of each list on every call, 20 to 30 µs each,
 *   where the claim reads a few rows. The list of jobs picked, which can be long, is left to
 *   `candidates` (later rounds), where building it once pays.
 */
export class FirstCandidates {
  private readonly byLimit = new Map<number, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** Raw rows (JOB_COLUMNS, then the rowid), the best `limit` eligible ones first. */
  all(p: { kinds: string; templates: string; queues: string; anyQueue: 0 | 1; node: string | null; limit: number }): unknown[][] {
    const bucket = 2 ** Math.ceil(Math.log2(Math.max(1, p.limit)));
    let st = this.byLimit.get(bucket);
    if (!st) {
      st = this.prepare(bucket);
      this.byLimit.set(bucket, st);
    }
    const rows = st.all({ kinds: p.kinds, templates: p.templates, queues: p.queues, anyQueue: p.anyQueue, node: p.node }) as unknown[][];
    return rows.length > p.limit ? rows.slice(0, p.limit) : rows;
  }

  private prepare(limit: number): Database.Statement {
    // INDEXED BY: without statistics the planner may pick jobs_state and sort every queued job.
    return this.db
      .prepare(
        `SELECT ${JOB_COLUMNS.join(', ')}, rowid FROM jobs INDEXED BY jobs_queued
      WHERE state = 'queued'
        AND ((template IS NULL AND EXISTS (SELECT 1 FROM json_each(@kinds) k WHERE k.value = jobs.kind))
          OR (template IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(@templates) t WHERE t.value = jobs.template)))
        AND (@anyQueue = 1 OR EXISTS (SELECT 1 FROM json_each(@queues) q WHERE q.value = jobs.queue))
        AND NOT EXISTS (SELECT 1 FROM paused_queues p WHERE p.queue = jobs.queue)
        AND (node IS NULL OR node = @node)
        AND (concurrency_key IS NULL OR concurrency_limit IS NULL OR concurrency_limit >
          (SELECT COUNT(*) FROM jobs r WHERE r.state = 'running' AND r.concurrency_key = jobs.concurrency_key))
      ORDER BY priority DESC, run_at, id LIMIT ${limit}`,
      )
      .raw(true);
  }
}
