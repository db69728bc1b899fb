import path from 'node:path';
import { ValidationError } from '../../core/errors.js';

/** The destination a download goes to when its job names none; a worker without `destinations` has it (AGENT_DEFAULTS). */
export const DEFAULT_DESTINATION = 'default';

/** `NAME` or `NAME:sub/dir`: a destination of the worker's config, and a path below it. */
export interface Dest {
  name: string;
  subdir: string;
}

/** Checks a job's `dest` param; errors name `${field}.dest`. */
export function parseDest(raw: string, field: string): Dest {
  const fail = (msg: string): never => {
    throw new ValidationError(`${field}.dest: ${msg}`, `${field}.dest`);
  };
  const colon = raw.indexOf(':');
  const name = colon < 0 ? raw : raw.slice(0, colon);
  const subdir = colon < 0 ? '' : raw.slice(colon + 1);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) fail(`"${name}" is not a destination name (letters, digits, _ . -)`);
  const parts = subdir.split('/').filter((s) => s.length > 0);
  for (const part of parts) {
    if (part === '..' || part === '.' || part.startsWith('.') || /[\u0000-\u001f\\]/.test(part)) fail(`"${subdir}": no "..", hidden or control-character parts`);
  }
  return { name, subdir: parts.join('/') };
}

/**
 * The directory a job writes to: below the worker's destination `dest.name`. A ValidationError
 * (not retryable: another attempt on this worker will not help) when the worker has no such
 * destination or the path leaves it.
 */
export function destinationDir(destinations: Map<string, string>, dest: Dest): string {
  const root = destinations.get(dest.name);
  if (root === undefined) {
    const known = [...destinations.keys()].join(', ') || 'none';
    throw new ValidationError(`params.dest: this worker has no destination "${dest.name}" (it has: ${known})`, 'params.dest');
  }
  const dir = path.resolve(root, dest.subdir);
  if (dir !== path.resolve(root) && !dir.startsWith(path.resolve(root) + path.sep)) throw new ValidationError(`params.dest: "${dest.subdir}" leaves the destination`, 'params.dest');
  return dir;
}
