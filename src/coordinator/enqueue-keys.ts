import { createHash } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import { fillPlaceholders } from '../core/placeholders.js';
import type { ResolvedNewJob } from '../store/store.js';

/** The longest idempotency key (the Idempotency-Key header, a job's `key`), characters. */
const MAX_KEY = 255;
/** Visible ASCII: what a header carries safely, and what a key shown in an error can hold. */
const KEY = /^[\x21-\x7e]+$/;

/** The Idempotency-Key header of an enqueue, checked; undefined when absent. */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.length === 0 || v.length > MAX_KEY || !KEY.test(v)) throw new ValidationError(`Idempotency-Key: 1 to ${MAX_KEY} visible ASCII characters, no spaces`, 'Idempotency-Key');
  return v;
}

/** Each job's own `key` (null where none), checked; null when no job has one. */
export function jobKeysOf(inputs: readonly unknown[]): Array<string | null> | null {
  let any = false;
  const keys = inputs.map((_, i) => {
    const { value: k, field } = specField(inputs, i, 'key');
    if (k === undefined || k === null) return null;
    if (typeof k !== 'string' || k.length === 0 || k.length > MAX_KEY || !KEY.test(k)) throw new ValidationError(`${field}: 1 to ${MAX_KEY} visible ASCII characters, no spaces`, field);
    any = true;
    return k;
  });
  return any ? keys : null;
}

/** Field `name` of job `i` as it was sent, and its path in an error (`jobs[3].key`, or `key` for a lone job). */
function specField(inputs: readonly unknown[], i: number, name: string): { value: unknown; field: string } {
  const input = inputs[i];
  const value = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[name] : undefined;
  return { value, field: inputs.length > 1 ? `jobs[${i}].${name}` : name };
}

/** What tells one request's body from another under the same key: a SHA-256 of its JSON. */
export function fingerprintOf(inputs: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}

/**
 * Each job's `unique` key, its placeholders filled from the job's params (`{server}-{day}`):
 * while a job made under that key has not ended, enqueuing another answers it instead. Null
 * when no job has one. A secret param cannot be part of it (the key is kept in clear).
 */
export function uniqueKeysOf(inputs: readonly unknown[], jobs: readonly ResolvedNewJob[]): Array<string | null> | null {
  let any = false;
  const keys = inputs.map((_, i) => {
    const { value: u, field } = specField(inputs, i, 'unique');
    if (u === undefined || u === null) return null;
    if (typeof u !== 'string' || u.length === 0 || u.length > MAX_KEY) throw new ValidationError(`${field}: a text of 1 to ${MAX_KEY} characters, with {param} placeholders`, field);
    const job = jobs[i] as ResolvedNewJob;
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(job.params)) values[k] = job.secrets.includes(k) ? SECRET_MARK : String(v);
    const key = fillPlaceholders(u, values, field);
    if (key.includes(SECRET_MARK)) throw new ValidationError(`${field}: names a secret param; a unique key is kept in clear, so it takes only params that are not secret`, field);
    any = true;
    return `${job.template ?? job.kind}:${key}`;
  });
  return any ? keys : null;
}

/** What a secret param fills into a unique key while it is checked: nothing a real value holds. */
const SECRET_MARK = '\u0000secret\u0000';
