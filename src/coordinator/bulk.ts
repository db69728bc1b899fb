import { DroverError, errorMessage } from '../core/errors.js';
import type { Job } from '../core/job.js';
import type { JobPage, ListFilter } from '../core/job-filter.js';
import type { BulkAnswer, BulkRequest } from '../protocol/messages.js';

/** The failures a bulk answer lists; more are counted, not listed. */
const MAX_LISTED = 100;
/**
 * Jobs acted on between two turns of the event loop: a page of a filter, or so many of the ids.
 * On SQLite each action is a synchronous transaction, so leases and heartbeats wait at most this many.
 */
const PAGE = 200;

/** What a bulk action needs of the coordinator. */
export interface BulkTarget {
  list(f: ListFilter): Promise<JobPage>;
  cancel(id: string): Promise<Job>;
  retry(id: string): Promise<Job>;
}

/**
 * Cancels or retries the jobs named, or every job matching a filter (read a page at a time in id
 * order, so jobs changed meanwhile are neither missed nor done twice). A job that cannot take
 * the action (already final, not found) is counted in `failed` with the reason; the rest go on.
 */
export async function bulkAction(c: BulkTarget, req: BulkRequest, signal?: AbortSignal): Promise<BulkAnswer> {
  const out: BulkAnswer = { matched: 0, changed: 0, failed: [] };
  const act = async (id: string) => {
    out.matched++;
    try {
      await (req.action === 'cancel' ? c.cancel(id) : c.retry(id));
      out.changed++;
    } catch (err) {
      if (!(err instanceof DroverError)) throw err;
      if (out.failed.length < MAX_LISTED) out.failed.push({ id, error: errorMessage(err) });
    }
  };
  if (req.ids) {
    const ids = [...new Set(req.ids)];
    for (let i = 0; i < ids.length && !signal?.aborted; i += PAGE) {
      for (const id of ids.slice(i, i + PAGE)) await act(id);
      await turn();
    }
    return out;
  }
  let cursor: string | undefined;
  do {
    const page = await c.list({ ...req.filter, limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const j of page.jobs) await act(j.id);
    cursor = page.nextCursor ?? undefined;
    await turn();
    // A client that went away stops it: what was done stays done.
  } while (cursor && !signal?.aborted);
  return out;
}

/** Lets the event loop serve others (leases, heartbeats) between pages. */
function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
