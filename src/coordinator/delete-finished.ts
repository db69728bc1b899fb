import type { JobState } from '../core/job.js';
import type { JobStore } from '../store/store.js';

/** Jobs deleted per statement at most: short write locks between batches. */
const BATCH = 1_000;
/** The fewest a batch deletes, however slow the store. */
const MIN_BATCH = 50;
/**
 * On a store whose writes run on the coordinator's own thread (SQLite), a batch is sized to take
 * about this long, ms, and requests that came meanwhile are answered before the next: a lease
 * request waits for one short batch at most, where 1,000 jobs' deletes take 9 ms on the 2-core
 * machine (a lease p99 of 26 ms while 100,000 were purged).
 */
const SLICE_MS = 1;

/**
 * Deletes finished jobs (of `states`, default every final state) that finished before `before`,
 * with their logs, a batch at a time; at most `maxJobs` (default no bound), letting whatever
 * else waits run between batches. Returns how many.
 */
export async function deleteFinishedInBatches(store: JobStore, p: { before: number; states?: JobState[]; maxJobs?: number }): Promise<number> {
  let total = 0;
  let size = store.shared ? BATCH : MIN_BATCH;
  while (total < (p.maxJobs ?? Infinity)) {
    const limit = Math.min(size, (p.maxJobs ?? Infinity) - total);
    const t0 = performance.now();
    const n = await store.deleteFinished({ before: p.before, limit, ...(p.states ? { states: p.states } : {}) });
    const took = performance.now() - t0;
    total += n;
    if (n < limit) break;
    if (store.shared) continue;
    size = Math.max(MIN_BATCH, Math.min(BATCH, Math.round((size * SLICE_MS) / Math.max(took, 0.05))));
    // SQLite's deletes are synchronous: without a turn of the event loop in between, a purge of
    // a million jobs would hold every request until its last batch.
    await new Promise((r) => setImmediate(r));
  }
  return total;
}
