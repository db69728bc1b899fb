import type { CountFilter, ListFilter } from '../../core/job-filter.js';
import { likeEscaped } from '../like.js';
import { listOrderOf } from '../list-order.js';

/**
 * The WHERE clause of a filter, with `?` parameters in order. `candidates`: the rowids the text
 * search index found for `q` (search-index.ts); the exact match below still decides. With the
 * ORDER BY of the list's sort (list-order.ts).
 */
export function whereOf(f: CountFilter & Pick<ListFilter, 'state' | 'cursor' | 'order' | 'sort'>, candidates: readonly number[] | null = null): { sql: string; args: unknown[]; orderBy: string } {
  const where: string[] = [];
  const args: unknown[] = [];
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    where.push(`${col} = ?`);
    args.push(v);
  };
  eq('queue', f.queue);
  eq('owner', f.owner);
  eq('template', f.template);
  eq('kind', f.kind);
  eq('parent_id', f.parent);
  eq('lease_worker', f.worker);
  if (f.tag !== undefined) {
    where.push('EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE value = ?)');
    args.push(f.tag);
  }
  if (f.finishedSince !== undefined) {
    where.push('finished_at >= ?');
    args.push(f.finishedSince);
  }
  if (f.since !== undefined) {
    where.push('(created_at >= ? OR finished_at >= ?)');
    args.push(f.since, f.since);
  }
  if (f.q !== undefined && f.q !== '') {
    if (candidates) {
      where.push('jobs.rowid IN (SELECT value FROM json_each(?))');
      args.push(JSON.stringify(candidates));
    }
    const like = `%${likeEscaped(f.q)}%`;
    // The params' JSON text first (one string, no parsing), then the values one by one, but the
    // secret ones. Text JSON writes otherwise (quotes, backslashes, control characters) skips it.
    const prefilter = /["\\\u0000-\u001f]/.test(f.q) ? '' : "params LIKE ? ESCAPE '\\' AND ";
    where.push(`(id LIKE ? ESCAPE '\\' OR error LIKE ? ESCAPE '\\' OR (${prefilter}EXISTS (SELECT 1 FROM json_each(jobs.params) p WHERE p.value LIKE ? ESCAPE '\\' AND p.key NOT IN (SELECT value FROM json_each(jobs.secrets)))))`);
    args.push(like, like, ...(prefilter ? [like] : []), like);
  }
  if (f.state && f.state.length > 0) {
    // By finish time, the finished_at index orders the rows and holds their state; a plain
    // `state IN` would have SQLite read every finished job through jobs_state and sort them
    // (0.6 s at 1M). The unary + keeps the term off the index choice.
    where.push(`${f.sort === 'finished' ? '+state' : 'state'} IN (${f.state.map(() => '?').join(',')})`);
    args.push(...f.state);
  }
  const order = listOrderOf(f);
  for (const c of order.conditions) {
    where.push(c.sql);
    args.push(...c.values);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args, orderBy: order.orderBy };
}

