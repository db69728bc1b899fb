import { ValidationError } from '../core/errors.js';

/** Bounds on JSON a worker sends to be stored as it is (progress, results). */
export interface JsonBounds {
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Largest serialised size, characters. */
  maxChars: number;
}

/** A heartbeat's or outcome's progress: a few numbers and a message. */
export const PROGRESS_BOUNDS: JsonBounds = { maxDepth: 8, maxChars: 64 * 1024 };
/** A result: the files a job delivered, with their checksums (a hikvision job of thousands of clips). */
export const RESULT_BOUNDS: JsonBounds = { maxDepth: 32, maxChars: 8 * 1024 * 1024 };

/**
 * Checks that `value` nests at most `maxDepth` deep and serialises within `maxChars`; a
 * ValidationError names `field` otherwise. JSON nested thousands deep would otherwise reach the
 * store's JSON.stringify and fail there (a 500) with the stack exhausted.
 */
export function checkJsonBounds(value: unknown, field: string, b: JsonBounds): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= b.maxDepth) throw new ValidationError(`${field}: nested deeper than ${b.maxDepth} levels`, field);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  const size = JSON.stringify(value ?? null).length;
  if (size > b.maxChars) throw new ValidationError(`${field}: ${size} characters of JSON, at most ${b.maxChars}`, field);
}
