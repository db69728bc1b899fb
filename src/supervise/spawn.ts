import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LineSplitter } from './line-splitter.js';
import { groupAlive, signalGroup } from './process-group.js';
import { RingBuffer } from './ring-buffer.js';

export interface SuperviseOptions {
  /** The command and its arguments. Never run through a shell. */
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Appends all output here, line by line (directory created). None when omitted. */
  logFile?: string;
  /** Applied to every line before it is logged, kept or passed on (e.g. to hide secrets). */
  redact?: (line: string) => string;
  /** Called for every line of stdout and stderr. */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Lines kept for `tail`. Default 50. */
  tailLines?: number;
  /** Between SIGTERM and SIGKILL when stopping, ms. Default 10000. */
  killGraceMs?: number;
  /** Aborting stops the process group; the abort reason becomes `stoppedBy`. */
  signal?: AbortSignal;
}

export interface SupervisedExit {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why we stopped it, or null when it ended by itself. */
  stoppedBy: string | null;
  /** The last lines of output, oldest first. */
  tail: string[];
}

export interface Supervised {
  pid: number;
  done: Promise<SupervisedExit>;
  /** SIGTERM to the group, SIGKILL after the grace period. Idempotent. */
  stop(reason: string): void;
}

/** A command that could not be started (not found, not executable...). */
export class SpawnError extends Error {}

/**
 * Runs a command in its own process group, drains stdout and stderr line by line into a log file,
 * a callback and a tail buffer, and stops the whole group on request. When the leader exits, any
 * process left in its group is killed too, so no grandchild outlives a stopped job.
 */
export function spawnSupervised(o: SuperviseOptions): Promise<Supervised> {
  const [cmd, ...args] = o.argv;
  if (!cmd) return Promise.reject(new SpawnError('empty command'));
  const tail = new RingBuffer<string>(o.tailLines ?? 50);
  let log: fs.WriteStream | null = null;
  if (o.logFile) {
    fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
    log = fs.createWriteStream(o.logFile, { flags: 'a' });
  }
  const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      log?.end();
      const why = err.code === 'ENOENT' ? 'not found (check the path or PATH)' : err.code === 'EACCES' ? 'permission denied (not executable?)' : err.message;
      reject(new SpawnError(`cannot start "${cmd}": ${why}`));
    });
    child.once('spawn', () => {
      const pid = child.pid as number;
      let stoppedBy: string | null = null;
      let killTimer: NodeJS.Timeout | null = null;
      const splitters = (['stdout', 'stderr'] as const).map((stream) => {
        const sp = new LineSplitter((raw) => {
          // Whole lines only: a secret split across two reads is still caught.
          const line = o.redact ? o.redact(raw) : raw;
          log?.write(line + '\n');
          tail.push(line);
          o.onLine?.(stream, line);
        });
        const pipe = child[stream];
        pipe?.setEncoding('utf8');
        pipe?.on('data', (text: string) => sp.push(text));
        return { sp, pipe };
      });
      const stop = (reason: string) => {
        if (stoppedBy !== null || child.exitCode !== null || child.signalCode !== null) return;
        stoppedBy = reason;
        signalGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), o.killGraceMs ?? 10_000);
      };
      const onAbort = () => stop(String(o.signal?.reason ?? 'aborted'));
      if (o.signal?.aborted) onAbort();
      else o.signal?.addEventListener('abort', onAbort, { once: true });
      const pipesClosed = Promise.all(splitters.map(({ pipe }) => new Promise<void>((r) => (pipe ? pipe.once('close', () => r()) : r()))));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
      const done = exited.then(async (exit) => {
        // The leader is gone; what is left of its group must go too (a stop, or a leak).
        if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
        // Grandchildren holding the pipes could keep them open: don't wait forever for them.
        await Promise.race([pipesClosed, new Promise((r) => setTimeout(r, 2000).unref())]);
        if (killTimer) clearTimeout(killTimer);
        o.signal?.removeEventListener('abort', onAbort);
        for (const { sp } of splitters) sp.end();
        if (log) await new Promise<void>((r) => log?.end(() => r()));
        return { code: exit.code, signal: exit.signal, stoppedBy, tail: tail.last() };
      });
      resolve({ pid, done, stop });
    });
  });
}
