import fs from 'node:fs';
import { createRequire } from 'node:module';
import { errorMessage } from '../core/errors.js';
import { procStat } from './pid-file.js';

/** WNOHANG from <sys/wait.h>: the same value on every Linux architecture. */
const WNOHANG = 1;

type WaitPid = (pid: number, status: null, options: number) => number;
let waitpid: WaitPid | null = null;

/**
 * waitpid() from libc through the koffi FFI, loaded on first use only, so that runs which never
 * start the reaper never load native code. Synchronous (createRequire, not `import()`) so that
 * `startZombieReaper` can fail at once with an Error the caller prints.
 */
function loadWaitpid(): WaitPid {
  if (waitpid) return waitpid;
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (err) {
    throw new Error(`cannot reap zombies: the koffi FFI module does not load (${errorMessage(err)})`);
  }
  // libc.so.6 is glibc; null (the running program and its libraries) also finds musl's waitpid.
  const tried: string[] = [];
  for (const lib of ['libc.so.6', null]) {
    try {
      waitpid = koffi.load(lib).func('int waitpid(int pid, int *status, int options)') as WaitPid;
      return waitpid;
    } catch (err) {
      tried.push(`${lib ?? 'the running program'}: ${errorMessage(err)}`);
    }
  }
  throw new Error(`cannot reap zombies: waitpid() not found in libc (${tried.join('; ')})`);
}

/**
 * Pids of the zombie children of this process (state Z in /proc/PID/stat, parent process.pid),
 * except `ownChildren`: processes Node spawned itself, which libuv reaps to report their exit.
 */
export function zombieChildren(ownChildren: Iterable<number>): number[] {
  const own = new Set(ownChildren);
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || own.has(Number(name))) continue;
    // null: ended (and reaped) since the listing.
    const [state, ppid] = procStat(name) ?? [];
    if (state === 'Z' && Number(ppid) === process.pid) found.push(Number(name));
  }
  return found;
}

/** waitpid(pid, NULL, WNOHANG) for each of `pids`; returns those actually reaped. */
function reap(pids: number[]): number[] {
  const wait = loadWaitpid();
  // -1 (ECHILD) means someone else reaped it meanwhile; 0 cannot happen for a zombie.
  return pids.filter((pid) => wait(pid, null, WNOHANG) === pid);
}

/**
 * One pass: reaps every zombie child of this process but `ownChildren` and returns their pids.
 * Never waitpid(-1): that would take the exit status of a child libuv waits for, and Node would
 * then never emit its 'exit'.
 */
export function reapZombies(ownChildren: Iterable<number>): number[] {
  return reap(zombieChildren(ownChildren));
}

export interface ZombieReaper {
  /** Number of processes reaped so far. */
  readonly reaped: number;
  /** Stops the timer; idempotent. */
  stop(): void;
}

export interface ZombieReaperOptions {
  /** Pids this process spawned through child_process (libuv reaps those): never touched. */
  ownChildren: () => Iterable<number>;
  /** A scan of /proc this often besides the ones SIGCHLD brings, ms. Default 30000. */
  intervalMs?: number;
  /** A zombie first seen by a scan is reaped by one this much later, ms. Default 100. */
  confirmMs?: number;
  /** Reap even when this process is not PID 1 (tests; a child subreaper). Default false. */
  force?: boolean;
  /** Called with each pid reaped. */
  onReap?: (pid: number) => void;
}

/**
 * Returns null (and does nothing) unless this process is PID 1 or `force` is set. Otherwise scans
 * /proc when a child dies (SIGCHLD) and every `intervalMs`, on unref'd timers (it never keeps the
 * process alive), and reaps the orphans re-parented to us that died. No timer ticks while nothing
 * dies. Throws an Error saying why when koffi, libc's waitpid() or /proc is unavailable.
 *
 * A zombie is reaped only when seen in two scans, `confirmMs` apart: libuv reaps its own children
 * as soon as the event loop handles SIGCHLD, well within that time, so a child that `ownChildren`
 * does not list yet (spawned, pid not yet recorded by the caller) still keeps its exit status.
 */
export function startZombieReaper(o: ZombieReaperOptions): ZombieReaper | null {
  if (process.pid !== 1 && !o.force) return null;
  loadWaitpid();
  zombieChildren([]); // fails here, not in a timer, without a readable /proc
  let reaped = 0;
  let seen = new Set<number>();
  let confirm: NodeJS.Timeout | null = null;
  const scan = () => {
    if (confirm) clearTimeout(confirm);
    confirm = null;
    let fresh = false;
    try {
      const found = zombieChildren(o.ownChildren());
      const done = new Set(reap(found.filter((pid) => seen.has(pid))));
      fresh = found.some((pid) => !seen.has(pid));
      seen = new Set(found.filter((pid) => !done.has(pid)));
      reaped += done.size;
      for (const pid of done) o.onReap?.(pid);
    } catch {
      // A failed scan (e.g. onReap threw) is retried by the next one.
    }
    // Zombies seen for the first time are reaped by a look soon after; one that waitpid would
    // not take (a leader whose threads still run) waits for the next periodic scan.
    if (fresh) soon();
  };
  const soon = () => {
    if (confirm) return;
    confirm = setTimeout(scan, o.confirmMs ?? 100);
    confirm.unref();
  };
  process.on('SIGCHLD', soon);
  const timer = setInterval(scan, o.intervalMs ?? 30_000);
  timer.unref();
  // Orphans that died before we started.
  soon();
  return {
    get reaped() {
      return reaped;
    },
    stop: () => {
      clearInterval(timer);
      if (confirm) clearTimeout(confirm);
      process.off('SIGCHLD', soon);
    },
  };
}
