import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

type Threads = typeof import('node:worker_threads');
type Fs = typeof import('node:fs');
type Driver = typeof import('better-sqlite3');

/** How often the thread moves the WAL's pages into the database while it is written, ms (idle: up to once a second). */
export const CHECKPOINT_EVERY_MS = 100;
/**
 * The WAL's length, in pages, at which a commit on the coordinator's own connection checkpoints
 * after all (SQLite's automatic checkpoint; its default is 1,000): the bound should the thread
 * fall behind, or be gone. About 40 MB of 4 KiB pages.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/** What the thread is given. */
interface CheckpointerData {
  path: string;
  everyMs: number;
}

/**
 * The checkpointing thread's body (stringified: it needs no file of its own at run time). On its
 * own connection it runs PASSIVE checkpoints, which wait on no reader or writer. On the
 * coordinator's connection SQLite would checkpoint inside a commit every 1,000 pages, and with
 * `synchronous = NORMAL` that commit waits on two fsyncs: measured, 1.2 ms off the lease p99
 * (3.6–3.9 ms instead of 4.6–5.6 ms at 100,000 queued).
 */
function checkpointerThread(Database: Driver, threads: Threads, fs: Fs): void {
  const d = threads.workerData as CheckpointerData;
  const port = threads.parentPort as import('node:worker_threads').MessagePort;
  const db = new Database(d.path);
  // A WAL not written since the last look has nothing to move: an idle coordinator's thread
  // costs a stat, not a checkpoint, and looks less often (up to once a second).
  let seen = '';
  let waitMs = d.everyMs;
  let timer: NodeJS.Timeout;
  const tick = () => {
    try {
      const st = fs.statSync(`${d.path}-wal`, { throwIfNoEntry: false });
      const now = st ? `${st.mtimeMs}:${st.size}` : '';
      if (now === seen) waitMs = Math.min(1_000, waitMs * 2);
      else {
        db.pragma('wal_checkpoint(PASSIVE)');
        // As it stood before the checkpoint, which writes no frames of its own: a write since shows at the next look.
        seen = now;
        waitMs = d.everyMs;
      }
    } catch {
      // Busy with another checkpoint (the store's own TRUNCATE when the disk is full): the next look tries again.
    }
    timer = setTimeout(tick, waitMs);
  };
  timer = setTimeout(tick, waitMs);
  port.on('message', () => {
    clearTimeout(timer);
    db.close();
    port.close();
  });
}

export interface Checkpointer {
  stop(): Promise<void>;
}

/** Starts checkpointing the database at `path` on a thread of its own. */
export function startCheckpointer(path: string, everyMs = CHECKPOINT_EVERY_MS): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const data: CheckpointerData = { path, everyMs };
  const w = new Worker(`(${checkpointerThread.toString()})(require(${JSON.stringify(driver)}), require('node:worker_threads'), require('node:fs'))`, { eval: true, workerData: data });
  // A thread that failed leaves SQLite's own checkpoints (every WAL_AUTOCHECKPOINT_PAGES) to bound the WAL.
  w.on('error', () => undefined);
  // It must not keep a process alive that is otherwise done.
  w.unref();
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  return {
    async stop() {
      w.ref();
      w.postMessage('stop');
      await exited;
    },
  };
}
