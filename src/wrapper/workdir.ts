import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { processStartTime, sameProcess } from '../supervise/pid-file.js';

/** The wrapper's directories, as the seed lays them out. */
export interface Workdir {
  root: string;
  /** Reserved for the seed's service pipes: Drover reads progress on fd 3 and needs none. */
  pipes: string;
  /** ffmpeg.log (stdout and stderr), progress.log (-progress), rotated. */
  logs: string;
  /** PID (this wrapper), FFMPEG_PID, start_time, cmd.json, status.json. */
  status: string;
}

/** Creates WORKDIR/{pipes,logs,status}; an unwritable WORKDIR is a ConfigError naming it. */
export function prepareWorkdir(root: string): Workdir {
  const abs = path.resolve(root);
  const w = { root: abs, pipes: path.join(abs, 'pipes'), logs: path.join(abs, 'logs'), status: path.join(abs, 'status') };
  for (const dir of [w.pipes, w.logs, w.status]) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      throw new ConfigError(`WORKDIR=${root}: cannot use ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return w;
}

/**
 * Claims WORKDIR/status/PID for this process: the file holds the pid on its first line (as the
 * seed's) and the process start time on the second. While the process it names runs — same pid,
 * same start time, so a reused pid does not count — a second start is refused with a ConfigError.
 * A stale file (that process is gone) is taken over. Returns a function that removes the file
 * if it is still ours.
 */
export function claimPidFile(statusDir: string): () => void {
  const file = path.join(statusDir, 'PID');
  const mine = `${process.pid}\n${processStartTime(process.pid) ?? '?'}\n`;
  for (let tries = 0; tries < 3; tries++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      return () => releasePidFile(file, mine);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot write ${file}: ${(err as Error).message}`);
    }
    const [pidText = '', start] = readOr(file).split('\n');
    const pid = Number(pidText.trim());
    // Our own pid in an old file is a previous life (a container restarted with the same WORKDIR).
    const startText = start?.trim();
    // A file with a pid only (the seed's form) cannot tell reuse apart: a live pid counts.
    const alive = startText && startText !== '?' ? sameProcess(pid, startText) : Number.isInteger(pid) && pid > 1 && processStartTime(pid) !== null;
    if (pid !== process.pid && alive) {
      throw new ConfigError(`WORKDIR ${path.dirname(statusDir)} is in use by another drover run (pid ${pid}, see ${file})`);
    }
    // Stale: replace it atomically, then try the exclusive create again only if someone raced us.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, mine);
    fs.renameSync(tmp, file);
    if (readOr(file) === mine) return () => releasePidFile(file, mine);
  }
  throw new ConfigError(`cannot claim ${file}: another process keeps replacing it`);
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function releasePidFile(file: string, mine: string): void {
  if (readOr(file) === mine) fs.rmSync(file, { force: true });
}
