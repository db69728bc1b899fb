import { ValidationError } from '../core/errors.js';
import type { ParamValue } from '../core/job.js';

/**
 * `{name}` placeholders in template strings. `{{` and `}}` stand for literal braces.
 * Names are letters, digits, `_` and `-`.
 */
const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}|[{}]/g;

/** Names of the placeholders in `text`, in order of first appearance. */
export function placeholdersOf(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const name = m[1];
    if (m[0] === '{' || m[0] === '}') throw new ValidationError(`"${text}": a lone "${m[0]}" (write {{ or }} for a literal brace)`);
    if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * Fills the placeholders of `text` from `values`. A name without a value is an error that names
 * it — never an empty string.
 */
export function fillPlaceholders(text: string, values: Record<string, ParamValue | undefined>, what = 'template'): string {
  return text.replace(TOKEN, (whole, name: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    if (name === undefined) throw new ValidationError(`${what}: a lone "${whole}" in "${text}"`);
    const v = values[name];
    if (v === undefined) throw new ValidationError(`${what}: missing param "${name}"`, `params.${name}`);
    return String(v);
  });
}
