import type { JobState } from '../core/job.js';
import type { JobStore } from '../store/store.js';

/** Jobs deleted per statement: short write locks between batches. */
const BATCH = 1_000;

/**
 * Deletes finished jobs (of `states`, default every final state) that finished before `before`,
 * with their logs, a batch at a time; at most `maxBatches` batches (default no bound). Returns how many.
 */
export async function deleteFinishedInBatches(store: JobStore, p: { before: number; states?: JobState[]; maxBatches?: number }): Promise<number> {
  let total = 0;
  for (let i = 0; i < (p.maxBatches ?? Infinity); i++) {
    const n = await store.deleteFinished({ before: p.before, limit: BATCH, ...(p.states ? { states: p.states } : {}) });
    total += n;
    if (n < BATCH) break;
  }
  return total;
}
