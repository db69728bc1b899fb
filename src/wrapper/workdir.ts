import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { claimLockFile, isRunning, readOr } from '../supervise/lock-file.js';
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
 * Claims WORKDIR/status/PID for this process (see claimLockFile: the pid on the first line, as
 * FF WRAPPER's, then the process start time). While the process it names runs, a second start is
 * refused with a ConfigError. A stale file is taken over, and the ffmpeg its wrapper left running
 * (WORKDIR/status/FFMPEG_PID, same check) is stopped first. Returns a function that removes the
 * file if it is still ours.
 */
export function claimPidFile(statusDir: string, say: (text: string) => void = () => {}): () => void {
  const file = path.join(statusDir, 'PID');
  return claimLockFile(file, {
    inUse: (h) => new ConfigError(`WORKDIR ${path.dirname(statusDir)} is in use by another drover run (pid ${h.pid}, see ${file})`),
    cannotWrite: (err) => new ConfigError(`cannot write ${file}: ${err.message}`),
    onStale: () => stopLeftover(statusDir, say),
  });
}

/** Stops the ffmpeg a dead wrapper left running (FFMPEG_PID: pid, start time), SIGKILL after 5 s. */
function stopLeftover(statusDir: string, say: (text: string) => void): void {
  const [pidText = '', start] = readOr(path.join(statusDir, 'FFMPEG_PID')).split('\n');
  const ffmpeg = { pid: Number(pidText.trim()), start: start?.trim() };
  if (!ffmpeg.start || !isRunning(ffmpeg) || ffmpeg.pid <= 1) return;
  say(`stopping ffmpeg pid ${ffmpeg.pid}, left running by a wrapper that is gone`);
  signalGroup(ffmpeg.pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isRunning(ffmpeg) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  if (isRunning(ffmpeg)) signalGroup(ffmpeg.pid, 'SIGKILL');
}
