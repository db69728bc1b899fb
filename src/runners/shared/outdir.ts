import path from 'node:path';
import { fillPlaceholders } from '../../core/placeholders.js';
import { ValidationError } from '../../core/errors.js';
import type { ParamValue } from '../../core/job.js';

/**
 * Makes a value from outside safe as one path segment: no separators, no `..`, no control
 * characters, no leading dot (no hidden files), at most 200 bytes.
 */
export function sanitizeSegment(value: string): string {
  let s = value
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[/\\]/g, '_')
    .replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  // Bytes, not characters: 200 characters of `é` or `日` are 400 or 600 bytes, past NAME_MAX (255),
  // and mkdir would fail on every attempt. Never half a surrogate pair.
  s = s.slice(0, 200).replace(/[\ud800-\udbff]$/, '');
  while (Buffer.byteLength(s) > 200) s = s.slice(0, -1).replace(/[\ud800-\udbff]$/, '');
  return s.length === 0 ? '_' : s;
}

/**
 * The job's output directory: `root` (absolute) joined with the template's `outdir` pattern, each
 * placeholder value sanitised as one path segment. The pattern itself comes from the worker's
 * config and may hold `/`. Throws a ValidationError when the result would not be inside `root`.
 */
export function resolveOutdir(root: string, pattern: string, values: Record<string, ParamValue | undefined>): string {
  const safe: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) safe[k] = sanitizeSegment(String(v));
  const rel = fillPlaceholders(pattern, safe, 'outdir');
  const base = path.resolve(root);
  const dir = path.join(base, rel);
  const inside = path.relative(base, dir);
  if (path.isAbsolute(rel) || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    throw new ValidationError(`outdir "${rel}" would be outside the output root ${base}`);
  }
  if (inside === '') throw new ValidationError(`outdir "${rel}" is the output root itself; give each job its own directory`);
  return dir;
}
