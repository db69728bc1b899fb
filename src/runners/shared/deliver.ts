import fs from 'node:fs';
import path from 'node:path';

/** What happens when the name is taken: "name (1).ext", replace it, or keep the old file. */
export type Collision = 'rename' | 'overwrite' | 'skip';

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
  try {
    return place(file, dir, name, collision);
  } catch (err) {
    // Another filesystem, or another mount of the same one (bind mounts share a device number).
    if ((err as { code?: string }).code !== 'EXDEV') throw err;
    const staged = path.join(dir, `.${name}.drover-${process.pid}`);
    try {
      // A left-over (or planted) file or link at the staged name is removed, never written through.
      fs.rmSync(staged, { force: true });
      fs.copyFileSync(file, staged, fs.constants.COPYFILE_EXCL);
      return place(staged, dir, name, collision);
    } finally {
      fs.rmSync(staged, { force: true });
    }
  }
}

function place(file: string, dir: string, name: string, collision: Collision): Delivered {
  const target = path.join(dir, name);
  if (collision === 'overwrite') {
    fs.renameSync(file, target);
    return { path: target, skipped: false };
  }
  const ext = path.extname(name);
  const base = name.slice(0, name.length - ext.length);
  // `skip` links the target name only (no-clobber); `rename` tries "name (1).ext" and on.
  for (let i = 0; i < (collision === 'skip' ? 1 : 10_000); i++) {
    const candidate = i === 0 ? target : path.join(dir, `${base} (${i})${ext}`);
    try {
      // link fails if the name exists: no other writer can be overwritten between check and move.
      fs.linkSync(file, candidate);
      fs.unlinkSync(file);
      return { path: candidate, skipped: false };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      if (collision === 'skip') return { path: candidate, skipped: true };
    }
  }
  throw new Error(`no free name for ${name} in ${dir}`);
}
