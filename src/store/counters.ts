import type { CountFilter } from '../core/job-filter.js';

/**
 * Both stores keep the number of jobs per queue, owner and state in a table of their own
 * (`job_counts`), moved by triggers on every insert, change of state and delete; so counts and
 * the queues' and owners' totals are a read of a few rows whatever the number of jobs, where a
 * COUNT(*) reads every job (50 ms at 1M on SQLite, more on PostgreSQL). A job without an owner is
 * counted under the owner ''.
 */

/** The queue and owner a count asks for when the counters can answer it (null: any), else null. */
export function counterFilterOf(f: CountFilter): { queue: string | null; owner: string | null } | null {
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || (k === 'q' && v === '')) continue;
    if (k !== 'queue' && k !== 'owner') return null;
  }
  // owner '' would be the jobs without one, where the filter (owner = '') finds none.
  if (f.owner === '') return null;
  return { queue: f.queue ?? null, owner: f.owner ?? null };
}
