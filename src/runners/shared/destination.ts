import fs from 'node:fs';
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

/** Longest file or directory name, bytes: NAME_MAX of Linux filesystems (ext4, xfs, btrfs). */
export const NAME_MAX = 255;
/** Longest path, bytes: PATH_MAX (4096) less its terminating NUL. */
export const PATH_MAX = 4095;

/** A path part to name in a message: itself up to 32 characters, else its first 24 and `…`. */
export function clip(s: string): string {
  return s.length <= 32 ? s : `${s.slice(0, 24)}…`;
}

/** `NAME` or `NAME:sub/dir` as a job gave it, clipped for messages. */
export function showDest(dest: Dest): string {
  return dest.subdir ? `${dest.name}:${clip(dest.subdir)}` : dest.name;
}

/**
 * Why `p` (a dest's subdir, or a whole path) cannot be created: a part over NAME_MAX bytes, or
 * all of it over PATH_MAX. Null when it fits. `what` names the whole in the message.
 */
export function tooLong(p: string, what = 'the path'): string | null {
  for (const part of p.split('/')) {
    const n = Buffer.byteLength(part);
    if (n > NAME_MAX) return `"${clip(part)}" is ${n} bytes, more than ${NAME_MAX} for one name`;
  }
  const n = Buffer.byteLength(p);
  return n > PATH_MAX ? `${what} is ${n} bytes, more than ${PATH_MAX}` : null;
}

/** Links followed at most while resolving a path (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * `p` with every symbolic link resolved: fs.realpath of its deepest existing ancestor, then the
 * rest, which does not exist yet. A dangling link on the way counts as where it points: mkdir
 * there would go where the link leads.
 */
function resolveReal(p: string, hops = 0): string {
  const rest: string[] = [];
  for (let head = p; ; ) {
    try {
      return path.join(fs.realpathSync(head), ...rest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a file on the way; mkdir will say so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    let link: string | null = null;
    try {
      if (fs.lstatSync(head).isSymbolicLink()) link = fs.readlinkSync(head);
    } catch {
      // Not there at all: its parent is looked at next.
    }
    if (link !== null) {
      if (hops >= MAX_LINKS) throw Object.assign(new Error(`too many symbolic links at ${head}`), { code: 'ELOOP' });
      return resolveReal(path.join(path.resolve(path.dirname(head), link), ...rest), hops + 1);
    }
    const up = path.dirname(head);
    if (up === head) return path.join(head, ...rest);
    rest.unshift(path.basename(head));
    head = up;
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * destinationDir, checked against symbolic links and created. A link inside a destination
 * (`archive/link → /elsewhere`) must not take a job's files out of it, so the directory's real
 * path must stay below the destination's real path (the destination itself may be a link, e.g.
 * to a mount). Checked before anything is created, so nothing is made outside, and again after,
 * for a link put in place meanwhile. `create: false` only checks, for a job to fail before it
 * fetches anything. `name`: the file to be written there, whose whole path must fit PATH_MAX.
 * Errors are ValidationErrors naming the dest (not retryable). Used by the download kind;
 * ffmpeg and hikvision keep destinationDir alone.
 */
export function safeDestinationDir(destinations: Map<string, string>, dest: Dest, o: { create: boolean; name?: string }): string {
  const dir = destinationDir(destinations, dest);
  const fail = (msg: string): never => {
    throw new ValidationError(`dest ${showDest(dest)}${msg}`, 'params.dest');
  };
  const full = o.name === undefined ? dir : path.join(dir, o.name);
  const long = tooLong(full, `the path ${clip(full)}`);
  if (long) fail(`: ${long}`);
  const root = destinations.get(dest.name) as string;
  const check = () => {
    let inside: boolean;
    try {
      inside = isInside(resolveReal(dir), resolveReal(root));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
      return fail(' goes through a loop of symbolic links');
    }
    if (!inside) fail(` leaves the destination ${dest.name} through a symbolic link`);
  };
  check();
  if (!o.create) return dir;
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENAMETOOLONG') fail(`: a name in ${clip(dir)} is too long for this filesystem`);
    if (code === 'ENOTDIR' || code === 'EEXIST') fail(`: a part of ${clip(dir)} is a file, not a directory`);
    throw err;
  }
  check();
  return dir;
}
