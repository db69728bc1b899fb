import fs from 'node:fs';
import path from 'node:path';
import type { Collision } from './params.js';

export interface Delivered {
  /** Where the file is now; for `skip`, the file that was already there. */
  path: string;
  skipped: boolean;
}

/**
 * Moves the finished file into `dir` under `name` atomically: a reader never sees half a file.
 * On the same filesystem it is a rename (or a link, for the no-clobber `rename` policy); across
 * filesystems the copy goes to a hidden name in `dir` first, then is renamed.
 * `rename` adds " (1)", " (2)"... before the extension; `overwrite` replaces; `skip` keeps the old.
 */
export function deliver(file: string, dir: string, name: string, collision: Collision): Delivered {
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, name);
  if (collision === 'skip' && fs.existsSync(target)) return { path: target, skipped: true };
  const staged = sameFilesystem(file, dir) ? file : stageCopy(file, dir, name);
  try {
    if (collision === 'overwrite' || collision === 'skip') {
      fs.renameSync(staged, target);
      return { path: target, skipped: false };
    }
    const ext = path.extname(name);
    const base = name.slice(0, name.length - ext.length);
    for (let i = 0; i < 10_000; i++) {
      const candidate = i === 0 ? target : path.join(dir, `${base} (${i})${ext}`);
      try {
        // link fails if the name exists: no other writer can be overwritten between check and move.
        fs.linkSync(staged, candidate);
        fs.unlinkSync(staged);
        return { path: candidate, skipped: false };
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
    }
    throw new Error(`no free name for ${name} in ${dir}`);
  } finally {
    if (staged !== file) fs.rmSync(staged, { force: true });
  }
}

function sameFilesystem(file: string, dir: string): boolean {
  return fs.statSync(file).dev === fs.statSync(dir).dev;
}

function stageCopy(file: string, dir: string, name: string): string {
  const staged = path.join(dir, `.${name}.drover-${process.pid}`);
  fs.copyFileSync(file, staged);
  return staged;
}
