import { createHash } from 'node:crypto';
import { ValidationError } from '../core/errors.js';

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
  const keys = inputs.map((input, i) => {
    const k = typeof input === 'object' && input !== null ? (input as { key?: unknown }).key : undefined;
    if (k === undefined || k === null) return null;
    const field = inputs.length > 1 ? `jobs[${i}].key` : 'key';
    if (typeof k !== 'string' || k.length === 0 || k.length > MAX_KEY || !KEY.test(k)) throw new ValidationError(`${field}: 1 to ${MAX_KEY} visible ASCII characters, no spaces`, field);
    any = true;
    return k;
  });
  return any ? keys : null;
}

/** What tells one request's body from another under the same key: a SHA-256 of its JSON. */
export function fingerprintOf(inputs: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}
