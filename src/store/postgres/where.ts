import type { CountFilter } from '../../core/job-filter.js';
import { likeEscaped, trigramSearchable } from '../like.js';
import { SEARCH_TEXT, searchPatternOf } from './search-index.js';

/**
 * A WHERE clause built with numbered parameters: each `$?` in one `add` becomes the next `$n`.
 * `searchIndexed`: the text search index is on (search-index.ts), so `q` is looked up in it
 * first; the exact match still decides.
 */
export function whereOf(f: CountFilter, searchIndexed = false) {
  const parts: string[] = [];
  const args: unknown[] = [];
  const w = {
    args,
    add(cond: string, value: unknown) {
      args.push(value);
      parts.push(cond.replaceAll('$?', `$${args.length}`));
    },
    /** A condition with a `?` for each of `values`, in order (list-order.ts). */
    addEach(cond: string, values: readonly unknown[]) {
      let i = 0;
      parts.push(cond.replace(/\?/g, () => (args.push(values[i++]), `$${args.length}`)));
    },
    sql: () => (parts.length ? `WHERE ${parts.join(' AND ')}` : ''),
  };
  if (f.queue !== undefined) w.add('queue = $?', f.queue);
  if (f.owner !== undefined) w.add('owner = $?', f.owner);
  if (f.template !== undefined) w.add('template = $?', f.template);
  if (f.kind !== undefined) w.add('kind = $?', f.kind);
  if (f.parent !== undefined) w.add('parent_id = $?', f.parent);
  if (f.worker !== undefined) w.add('lease_worker = $?', f.worker);
  if (f.tag !== undefined) w.add('tags::jsonb ? $?', f.tag);
  if (f.finishedSince !== undefined) w.add('finished_at >= $?', f.finishedSince);
  if (f.since !== undefined) w.add('(created_at >= $? OR finished_at >= $?)', f.since);
  if (f.q !== undefined && f.q !== '') {
    const exact = '(id ILIKE $? OR error ILIKE $? OR EXISTS (SELECT 1 FROM jsonb_each_text(params::jsonb) p WHERE p.value ILIKE $? AND NOT (secrets::jsonb ? p.key)))';
    // Trigrams need three characters; a shorter text would read the whole index.
    const like = `%${likeEscaped(f.q)}%`;
    if (searchIndexed && trigramSearchable(f.q)) w.add(`${SEARCH_TEXT} ILIKE $?`, searchPatternOf(f.q));
    w.add(exact, like);
  }
  return w;
}
