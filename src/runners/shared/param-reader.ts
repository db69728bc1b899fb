import { ValidationError } from '../../core/errors.js';
import type { Params } from '../../core/job.js';

/** Helpers for checking a built-in kind's params; every error names `${field}.NAME`. */
export function paramReader(p: Params, field: string) {
  const fail = (name: string, msg: string): never => {
    throw new ValidationError(`${field}.${name}: ${msg}`, `${field}.${name}`);
  };
  /** The param as a string, undefined when absent; another type is an error. */
  const str = (name: string): string | undefined => {
    const v = p[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') fail(name, 'must be a string');
    return v as string;
  };
  return { fail, str };
}
