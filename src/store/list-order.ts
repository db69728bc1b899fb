import { ValidationError } from '../core/errors.js';
import type { ListFilter } from '../core/job-filter.js';
import type { Job } from '../core/job.js';

/** A condition with a `?` for each of its values, in order. */
export interface OrderCondition {
  sql: string;
  values: unknown[];
}

/** The ORDER BY of a list and the conditions its sort and cursor add, for both stores' SQL. */
export interface ListOrder {
  conditions: OrderCondition[];
  orderBy: string;
}

type Sorted = Pick<ListFilter, 'sort' | 'order' | 'cursor'>;

/**
 * By id (creation): the cursor is the last id. By finish time: only finished jobs, ordered by
 * (finished_at, id), the cursor `FINISHED_AT:ID` of the last one. The pair is compared as
 * `finished_at <= t AND (finished_at <> t OR id < i)` (not as a row value) so that the finished_at
 * index bounds the scan in both stores.
 */
export function listOrderOf(f: Sorted): ListOrder {
  const desc = f.order === 'desc';
  const lt = desc ? '<' : '>';
  if (f.sort !== 'finished') {
    return { conditions: f.cursor ? [{ sql: `id ${lt} ?`, values: [f.cursor] }] : [], orderBy: `id ${desc ? 'DESC' : 'ASC'}` };
  }
  const conditions: OrderCondition[] = [{ sql: 'finished_at IS NOT NULL', values: [] }];
  if (f.cursor) {
    const m = /^(\d{1,16}):(.+)$/s.exec(f.cursor);
    if (!m) throw new ValidationError(`cursor: "${f.cursor.slice(0, 60)}" is not the nextCursor of a list sorted by finish time (FINISHED_AT:ID)`, 'cursor');
    const at = Number(m[1]);
    conditions.push({ sql: `finished_at ${lt}= ?`, values: [at] }, { sql: `(finished_at <> ? OR id ${lt} ?)`, values: [at, m[2]] });
  }
  const dir = desc ? 'DESC' : 'ASC';
  return { conditions, orderBy: `finished_at ${dir}, id ${dir}` };
}

/** The cursor that resumes a list after `last`, its final job. */
export function nextCursorOf(f: Sorted, last: Job): string {
  return f.sort === 'finished' ? `${last.finishedAt ?? 0}:${last.id}` : last.id;
}
