import { RE2JS } from 're2js';
import { ValidationError } from './errors.js';

/** A param's pattern, compiled once; RE2 syntax, matched anywhere in the value like `RegExp.test`. */
const compiled = new Map<string, RE2JS>();
/** Patterns kept compiled at most (advertised templates could bring any number). */
const MAX_CACHED = 1000;

/**
 * Whether `value` matches a template param's `pattern`, in time linear in the value: patterns
 * come from config and from workers' advertisements, and a backtracking engine would let
 * `^(a+)+$` hold the coordinator for seconds on 32 characters. RE2 syntax: no lookaround and
 * no backreferences. Throws a ValidationError naming `where` when the pattern is not valid.
 */
export function matchesPattern(pattern: string, value: string, where: string): boolean {
  return compilePattern(pattern, where).matcher(value).find();
}

/** Compiles (and caches) a pattern; a ValidationError names `where` and what is wrong. */
export function compilePattern(pattern: string, where: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      throw new ValidationError(`${where}: not a valid regular expression (RE2 syntax: no lookaround or backreferences): ${(err as Error).message.replace(/^error parsing regexp: /, '')}`, where);
    }
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}
