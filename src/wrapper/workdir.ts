import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { processStartTime, procStat } from '../supervise/pid-file.js';
import { signalGroup } from '../supervise/process-group.js';

/** The wrapper's directories, as FF WRAPPER lays them out. */
export interface Workdir {
  root: string;
  /** Reserved for FF WRAPPER's service pipes: Drover reads progress on fd 3 and needs none. */
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
 * FF WRAPPER's) and the process start time on the second. While the process it names runs — same pid,
 * same start time, so a reused pid does not count — a second start is refused with a ConfigError.
 * A stale file (that process is gone) is taken over, and the ffmpeg its wrapper left running
 * (WORKDIR/status/FFMPEG_PID, same check) is stopped first. Only an exclusive create counts as a
 * claim, so of two starters racing for a stale file one wins. Returns a function that removes
 * the file if it is still ours.
 */
export function claimPidFile(statusDir: string, say: (text: string) => void = () => {}): () => void {
  const file = path.join(statusDir, 'PID');
  const mine = `${process.pid}\n${processStartTime(process.pid) ?? '?'}\n`;
  for (let tries = 0; tries < 10; tries++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      return () => releasePidFile(file, mine);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot write ${file}: ${(err as Error).message}`);
    }
    const seen = readSettled(file);
    if (seen === null) continue;
    const [pidText = '', start] = seen.split('\n');
    const pid = Number(pidText.trim());
    // Our own pid in an old file is a previous life (a container restarted with the same WORKDIR).
    if (pid !== process.pid && isRunning(pid, start?.trim())) {
      throw new ConfigError(`WORKDIR ${path.dirname(statusDir)} is in use by another drover run (pid ${pid}, see ${file})`);
    }
    // Stale. Move it aside atomically; if what moved is not what was judged stale, it was another
    // starter's fresh claim: put it back.
    const aside = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue;
    }
    const moved = readOr(aside);
    if (moved !== seen) {
      try {
        fs.linkSync(aside, file);
      } catch {
        // Someone claimed it meanwhile; theirs stands.
      }
    } else {
      stopLeftover(statusDir, say);
    }
    fs.rmSync(aside, { force: true });
  }
  throw new ConfigError(`cannot claim ${file}: other processes keep claiming it`);
}

/**
 * The pid `pid` started at `start` (see processStartTime) runs and is not a zombie. A file with a
 * pid only (FF WRAPPER's form) cannot tell reuse apart: a live pid counts. PID 1 counts too: the
 * other wrapper may be a container's init.
 */
function isRunning(pid: number, start: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid < 1) return false;
  const fields = procStat(pid);
  if (fields === null || fields[0] === 'Z' || fields[0] === 'X') return false;
  return start === undefined || start === '' || start === '?' || fields[19] === start;
}

/** Stops the ffmpeg a dead wrapper left running (FFMPEG_PID: pid, start time), SIGKILL after 5 s. */
function stopLeftover(statusDir: string, say: (text: string) => void): void {
  const [pidText = '', start] = readOr(path.join(statusDir, 'FFMPEG_PID')).split('\n');
  const pid = Number(pidText.trim());
  if (!start?.trim() || !isRunning(pid, start.trim()) || pid <= 1) return;
  say(`stopping ffmpeg pid ${pid}, left running by a wrapper that is gone`);
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isRunning(pid, start.trim()) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  if (isRunning(pid, start.trim())) signalGroup(pid, 'SIGKILL');
}

/** The file's text; an empty file is read again after a moment (a claim being written), null if still empty. */
function readSettled(file: string): string | null {
  for (let i = 0; i < 5; i++) {
    const text = readOr(file);
    if (text !== '') return text;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return readOr(file) === '' ? '' : null;
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
