import { quoted, ValidationError } from '../core/errors.js';
import type { BulkRequest, ImportRequest } from './messages.js';
import { listFilterOf } from './query.js';
import { obj, str, stringArray } from './validate.js';

/** The table formats an import takes (as the importers read them). */
const FORMATS: ReadonlyArray<ImportRequest['format']> = ['xlsx', 'csv', 'jsonl'];

/** At most this many ids in one bulk request. */
export const MAX_BULK_IDS = 10_000;

/** `POST /jobs/bulk`: an action and either ids or a filter (the list's, as JSON). */
export function bulkRequestOf(body: unknown): BulkRequest {
  const b = obj(body, 'body');
  if (b.action !== 'cancel' && b.action !== 'retry') throw new ValidationError(`action: expected cancel or retry, got ${quoted(b.action)}`, 'action');
  if ((b.ids === undefined) === (b.filter === undefined)) throw new ValidationError('body: give either ids (the jobs chosen) or filter (every job matching)', 'body');
  if (b.ids !== undefined) {
    const ids = stringArray(b.ids, 'ids');
    if (ids.length === 0 || ids.length > MAX_BULK_IDS) throw new ValidationError(`ids: from 1 to ${MAX_BULK_IDS} job ids`, 'ids');
    return { action: b.action, ids };
  }
  const f = obj(b.filter, 'filter');
  // The same checks as the list's query string: one reading of a filter.
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) {
    if (k === 'cursor' || k === 'limit' || k === 'order' || k === 'sort') throw new ValidationError(`filter.${k}: not a filter field (a bulk action takes every matching job)`, `filter.${k}`);
    if (k === 'state') q.state = (Array.isArray(v) ? stringArray(v, 'filter.state') : [str(v, 'filter.state')]).join(',');
    else if (typeof v === 'string' || typeof v === 'number') q[k] = String(v);
    else throw new ValidationError(`filter.${k}: must be a string`, `filter.${k}`);
  }
  const { cursor: _c, limit: _l, order: _o, sort: _s, ...filter } = filterOf(q);
  const known = new Set(['state', 'queue', 'owner', 'tag', 'template', 'kind', 'parent', 'worker', 'q', 'finishedSince', 'since']);
  for (const k of Object.keys(f)) if (!known.has(k)) throw new ValidationError(`filter.${k}: unknown filter field (${[...known].join(', ')})`, `filter.${k}`);
  return { action: b.action, filter };
}

/** The list's filter of `q`, a bad field named as the bulk body has it (`filter.since`). */
function filterOf(q: Record<string, string>): ReturnType<typeof listFilterOf> {
  try {
    return listFilterOf(q);
  } catch (err) {
    if (err instanceof ValidationError && err.field) throw new ValidationError(`filter.${err.message}`, `filter.${err.field}`);
    throw err;
  }
}

/** `POST /imports`: a table file, base64, with a template or a kind. */
export function importRequestOf(body: unknown): ImportRequest {
  const b = obj(body, 'body');
  if (!FORMATS.includes(b.format as ImportRequest['format'])) throw new ValidationError(`format: expected one of ${FORMATS.join(', ')}, got ${quoted(b.format)}`, 'format');
  const data = str(b.data, 'data');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new ValidationError('data: must be the file in base64', 'data');
  if ((b.template === undefined) === (b.kind === undefined)) throw new ValidationError('body: give exactly one of template or kind', 'body');
  const d = b.defaults === undefined ? {} : obj(b.defaults, 'defaults');
  const defaults: NonNullable<ImportRequest['defaults']> = {};
  for (const k of ['queue', 'owner'] as const) if (d[k] !== undefined && d[k] !== '') defaults[k] = str(d[k], `defaults.${k}`);
  for (const k of ['priority', 'maxAttempts'] as const) {
    if (d[k] === undefined || d[k] === '') continue;
    const n = Number(d[k]);
    if (!Number.isSafeInteger(n)) throw new ValidationError(`defaults.${k}: must be an integer`, `defaults.${k}`);
    defaults[k] = n;
  }
  if (d.tags !== undefined) defaults.tags = stringArray(d.tags, 'defaults.tags');
  if (d.params !== undefined) {
    const p = obj(d.params, 'defaults.params');
    defaults.params = {};
    for (const [k, v] of Object.entries(p)) {
      if (typeof v !== 'string') throw new ValidationError(`defaults.params.${k}: must be a string`, `defaults.params.${k}`);
      if (v !== '') defaults.params[k] = v;
    }
  }
  for (const k of Object.keys(d)) if (!['queue', 'owner', 'priority', 'maxAttempts', 'tags', 'params'].includes(k)) throw new ValidationError(`defaults.${k}: unknown field (queue, owner, priority, maxAttempts, tags, params)`, `defaults.${k}`);
  return {
    format: b.format as ImportRequest['format'],
    data,
    ...(b.name !== undefined ? { name: str(b.name, 'name') } : {}),
    ...(b.template !== undefined ? { template: str(b.template, 'template') } : { kind: str(b.kind, 'kind') }),
    defaults,
  };
}

/** `POST /session`: `{"token": "..."}`. */
export function signInRequestOf(body: unknown): { token: string } {
  return { token: str(obj(body, 'body').token, 'token') };
}

