import fs from 'node:fs';
import path from 'node:path';
import { signalGroup } from './process-group.js';

/**
 * The fields of /proc/PID/stat after the command name — [0] is the state (field 3), [1] the
 * parent pid, [11]/[12] utime/stime, [19] the start time — or null when the process is gone.
 */
export function procStat(pid: number | string): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * The start time of a process (clock ticks since boot, field 22 of /proc/PID/stat), or null when
 * it does not exist. Together with the pid it names one process: pids are reused, this pair is not.
 */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/**
 * Records a running process group and the process that owns it (this one), so that if the owner
 * dies without cleaning up, a later run can kill the group.
 */
export function writePidFile(file: string, pid: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${pid} ${processStartTime(pid) ?? '?'} ${process.pid} ${processStartTime(process.pid) ?? '?'}\n`);
}

/**
 * The process `pid` that started at `start` (see processStartTime) is still running: a zombie
 * (killed, not yet reaped) counts as gone, and so does another process that reused the pid.
 */
export function sameProcess(pid: number, start: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || start === undefined) return false;
  const fields = procStat(pid);
  return fields !== null && fields[0] !== 'Z' && fields[0] !== 'X' && fields[19] === start;
}

/**
 * Kills the process groups recorded in `*.pid` files under `dir` whose owner is dead but which
 * still run (pid and start time match), and removes their files. Groups of a live owner (another
 * worker sharing the directory) are left alone. Returns the pids killed.
 */
export function killRecordedGroups(dir: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.pid'));
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      // Gone since the listing: its job ended, or another worker of this directory took it.
      continue;
    }
    const [pidText, start, ownerText, ownerStart] = text.trim().split(' ');
    if (sameProcess(Number(ownerText), ownerStart)) continue;
    const pid = Number(pidText);
    if (sameProcess(pid, start) && signalGroup(pid, 'SIGKILL')) killed.push(pid);
    fs.rmSync(file, { force: true });
  }
  return killed;
}
