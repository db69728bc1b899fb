import { LIST_DEFAULTS, LIST_SORTS, type CountFilter, type ListFilter, type ListSort } from '../core/job-filter.js';
import { isJobState, JOB_STATES, type JobState } from '../core/job.js';
import { ValidationError } from '../core/errors.js';

type Query = Record<string, string | undefined>;

/** The longest text search (`q`), characters. */
const MAX_SEARCH = 200;

const TEXT_KEYS = ['queue', 'owner', 'tag', 'template', 'kind', 'parent', 'worker', 'q'] as const;

/** A filter as the query string of `GET /jobs` and `GET /jobs/counts`. */
export function filterQuery(f: ListFilter = {}): URLSearchParams {
  const q = new URLSearchParams();
  if (f.state && f.state.length > 0) q.set('state', f.state.join(','));
  for (const k of TEXT_KEYS) if (f[k] !== undefined) q.set(k, f[k] as string);
  if (f.finishedSince !== undefined) q.set('finishedSince', String(f.finishedSince));
  if (f.since !== undefined) q.set('since', String(f.since));
  if (f.sort !== undefined) q.set('sort', f.sort);
  if (f.order !== undefined) q.set('order', f.order);
  if (f.cursor !== undefined) q.set('cursor', f.cursor);
  if (f.limit !== undefined) q.set('limit', String(f.limit));
  return q;
}

/** The query string of `GET /jobs/counts` back as a filter; a bad value is a ValidationError naming it. */
export function countFilterOf(q: Query): CountFilter {
  const f: CountFilter = {};
  for (const k of TEXT_KEYS) if (q[k]) f[k] = q[k];
  if (f.q !== undefined && f.q.length > MAX_SEARCH) throw new ValidationError(`q: at most ${MAX_SEARCH} characters`, 'q');
  if (q.finishedSince) f.finishedSince = intOf(q.finishedSince, 'finishedSince', 0);
  if (q.since) f.since = intOf(q.since, 'since', 0);
  return f;
}

/** The query string of `GET /jobs` back as a filter. */
export function listFilterOf(q: Query): ListFilter {
  const f: ListFilter = countFilterOf(q);
  if (q.state) {
    const states = q.state.split(',').map((s) => s.trim());
    for (const s of states) if (!isJobState(s)) throw new ValidationError(`state: unknown state "${s}" (${JOB_STATES.join(', ')})`, 'state');
    f.state = states as JobState[];
  }
  if (q.sort) {
    if (!(LIST_SORTS as readonly string[]).includes(q.sort)) throw new ValidationError(`sort: expected ${LIST_SORTS.join(' or ')}, got "${q.sort}"`, 'sort');
    f.sort = q.sort as ListSort;
  }
  if (q.order) {
    if (q.order !== 'asc' && q.order !== 'desc') throw new ValidationError(`order: expected asc or desc, got "${q.order}"`, 'order');
    f.order = q.order;
  }
  if (q.cursor) f.cursor = q.cursor;
  if (q.limit) {
    const n = intOf(q.limit, 'limit', LIST_DEFAULTS.limit);
    if (n < 1 || n > LIST_DEFAULTS.maxLimit) throw new ValidationError(`limit: between 1 and ${LIST_DEFAULTS.maxLimit}`, 'limit');
    f.limit = n;
  }
  return f;
}

/** A non-negative integer from the query, `dflt` when absent. */
export function intOf(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError(`${name}: must be a non-negative integer, got "${v}"`, name);
  return n;
}

/** A `wait` value (ms) as asked for; 0 when absent or not a number. The coordinator caps it. */
export function waitOf(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0;
  return Number.isFinite(n) ? Math.max(0, n) : 0;
}
