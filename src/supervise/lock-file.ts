import fs from 'node:fs';
import { processStartTime, procStat } from './pid-file.js';

/** Who holds a lock file: its pid and that process's start time (see processStartTime). */
export interface LockHolder {
  pid: number;
  start: string | undefined;
}

export interface LockOptions {
  /** Says why `holder` stops us, e.g. "WORKDIR /x is in use by another drover run (pid 12)". */
  inUse(holder: LockHolder): Error;
  /** Called once a stale file (its process gone) is ours, e.g. to stop what its holder left running. */
  onStale?(): void;
  /** For what cannot be written (a read-only directory). */
  cannotWrite(err: Error): Error;
}

/**
 * Claims `file` for this process: it holds the pid on its first line and the process start time
 * on the second. While the process it names runs — same pid, same start time, so a reused pid
 * does not count — the claim throws `inUse`. A stale file is taken over. Only an exclusive create
 * counts as a claim, so of several starters racing for a stale file one wins. Returns a function
 * that removes the file if it is still ours.
 */
export function claimLockFile(file: string, o: LockOptions): () => void {
  const mine = `${process.pid}\n${processStartTime(process.pid) ?? '?'}\n`;
  for (let tries = 0; tries < 10; tries++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      return () => {
        if (readOr(file) === mine) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw o.cannotWrite(err as Error);
    }
    const seen = readSettled(file);
    if (seen === null) continue;
    const holder = holderOf(seen);
    // Our own pid in an old file is a previous life (a container restarted with the same data).
    if (holder.pid !== process.pid && isRunning(holder)) throw o.inUse(holder);
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
      o.onStale?.();
    }
    fs.rmSync(aside, { force: true });
  }
  throw o.cannotWrite(new Error('other processes keep claiming it'));
}

/** The live process holding `file`, or null when there is none (no file, or a stale one). */
export function lockHolder(file: string): LockHolder | null {
  const text = readOr(file);
  if (text === '') return null;
  const holder = holderOf(text);
  return isRunning(holder) ? holder : null;
}

function holderOf(text: string): LockHolder {
  const [pidText = '', start] = text.split('\n');
  return { pid: Number(pidText.trim()), start: start?.trim() };
}

/**
 * The process runs and is not a zombie. A file with a pid only (FF WRAPPER's form) cannot tell
 * reuse apart: a live pid counts. PID 1 counts too: the holder may be a container's init.
 */
export function isRunning(h: LockHolder): boolean {
  if (!Number.isInteger(h.pid) || h.pid < 1) return false;
  const fields = procStat(h.pid);
  if (fields === null || fields[0] === 'Z' || fields[0] === 'X') return false;
  return h.start === undefined || h.start === '' || h.start === '?' || fields[19] === h.start;
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

export function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
