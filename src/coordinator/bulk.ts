import { DroverError, errorMessage } from '../core/errors.js';
import type { Job } from '../core/job.js';
import type { JobPage, ListFilter } from '../core/job-filter.js';
import type { BulkAnswer, BulkRequest } from '../protocol/messages.js';

/** The failures a bulk answer lists; more are counted, not listed. */
const MAX_LISTED = 100;
/** Jobs read per page when acting on every job matching a filter. */
const PAGE = 1_000;

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
export async function bulkAction(c: BulkTarget, req: BulkRequest): Promise<BulkAnswer> {
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
    for (const id of new Set(req.ids)) await act(id);
    return out;
  }
  let cursor: string | undefined;
  do {
    const page = await c.list({ ...req.filter, limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const j of page.jobs) await act(j.id);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}
