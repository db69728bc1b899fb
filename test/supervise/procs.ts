import fs from 'node:fs';
import { onCleanup } from '../support/tmp.js';
import type { Supervised } from '../../src/supervise/spawn.js';

/**
 * True while `pid` runs. A killed process whose parent is gone waits as a zombie until init reaps
 * it (slowly in some containers); `process.kill(pid, 0)` still succeeds then, so a zombie counts
 * as gone.
 */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Reads the space-separated pids a test tree writes into `file`. */
export function readPids(file: string): number[] {
  return fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
}

/** Kills the group of `p` after the test if it is still running, and waits for it to end. */
export function track(p: Supervised): Supervised {
  let ended = false;
  void p.done.then(() => (ended = true), () => (ended = true));
  onCleanup(async () => {
    if (!ended) {
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await p.done.catch(() => {});
  });
  return p;
}

/** Kills `pids` after the test, each one still running (for processes a test tree left behind). */
export function killAfter(pids: () => number[]): void {
  onCleanup(() => {
    let list: number[] = [];
    try {
      list = pids();
    } catch {
      return;
    }
    for (const pid of list) {
      try {
        if (pid > 1 && running(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  });
}
