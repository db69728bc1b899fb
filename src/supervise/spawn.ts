import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LineSplitter } from './line-splitter.js';
import { signalGroup } from './process-group.js';
import { RingBuffer } from './ring-buffer.js';

export type OutputStream = 'stdout' | 'stderr';

export interface SuperviseOptions {
  /** The command and its arguments. Run directly, never through a shell. */
  argv: string[];
  /** Working directory. Default: this process's. */
  cwd?: string;
  /** The child's whole environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Every line of output is appended here (file opened in append mode, directory created). */
  logFile?: string;
  /**
   * Applied to every line before it is logged, kept or passed on (e.g. to hide secrets). It sees
   * whole lines, so text cut between two reads is caught; only a value cut by the 64 KiB piece
   * limit of an over-long line (see MAX_LINE) can slip through.
   */
  redact?: (line: string) => string;
  /** Called for every line of stdout and stderr, without its line ending. */
  onLine?: (stream: OutputStream, line: string) => void;
  /** Lines kept for `tail`. Default 50. */
  tailLines?: number;
  /** Between SIGTERM and SIGKILL when stopping, ms. Default 10000. */
  killGraceMs?: number;
  /**
   * After the leader exits, how long to wait for its pipes to close, ms: a process that left the
   * group (setsid) could hold them open forever. Default 2000.
   */
  drainMs?: number;
  /** Aborting it calls `stop(signal.reason)`. */
  signal?: AbortSignal;
}

export interface SupervisedExit {
  /** Exit code of the leader, or null when a signal killed it. */
  code: number | null;
  /** The signal that killed the leader, or null. */
  signal: NodeJS.Signals | null;
  /** The reason given to `stop`, or null when the process ended by itself. */
  stoppedBy: string | null;
  /** The last `tailLines` lines of output (stdout and stderr), oldest first. */
  tail: string[];
}

export interface Supervised {
  /** Pid of the leader, which is also the process group id. */
  readonly pid: number;
  /** Resolves when the leader has exited, its group is gone and all output is written. */
  readonly done: Promise<SupervisedExit>;
  /** SIGTERM to the whole group, SIGKILL after `killGraceMs`. Only the first call counts. */
  stop(reason: string): void;
}

/** A command that could not be started (not found, not executable, bad argument...). */
export class SpawnError extends Error {
  constructor(
    message: string,
    /** The errno code (ENOENT, EACCES...), when there is one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}

/**
 * Starts `argv` in its own process group (stdin ignored) and supervises it: stdout and stderr are
 * drained continuously and split into lines for `onLine`, the log file and the tail; `stop` ends
 * the whole group. When the leader exits — by itself or after a stop — whatever is left of its
 * group is killed with SIGKILL, so no grandchild outlives the job (like systemd's
 * KillMode=control-group). Rejects with a SpawnError naming the command when it cannot be
 * started (not found, not executable, missing cwd...), with an Error when the log file cannot be
 * opened.
 */
export async function spawnSupervised(o: SuperviseOptions): Promise<Supervised> {
  const [cmd, ...args] = o.argv;
  if (!cmd) throw new SpawnError('cannot start an empty command');
  const tail = new RingBuffer<string>(o.tailLines ?? 50);
  const log = o.logFile === undefined ? null : openLog(o.logFile);
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // Node throws at once for arguments it refuses, e.g. a NUL byte in an argument.
    log?.end();
    throw new SpawnError(`cannot start "${cmd}": ${(err as Error).message}`, (err as NodeJS.ErrnoException).code);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', (err: NodeJS.ErrnoException) => {
      log?.end();
      reject(new SpawnError(`cannot start "${cmd}": ${describeSpawnError(err, cmd, o.cwd)}`, err.code));
    });
  });
  // From here on an 'error' (e.g. a failed kill) must not crash the process; the exit still comes.
  child.on('error', () => {});

  let stoppedBy: string | null = null;
  let exited = false;
  let killTimer: NodeJS.Timeout | null = null;
  const stop = (reason: string): void => {
    if (stoppedBy !== null || exited) return;
    stoppedBy = reason;
    signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), o.killGraceMs ?? 10_000);
  };
  const onAbort = () => stop(String(o.signal?.reason ?? 'aborted'));

  const pipes = (['stdout', 'stderr'] as const).map((stream) => {
    const splitter = new LineSplitter((raw) => {
      // Whole lines only: a secret cut in two by a read is still caught.
      const line = o.redact ? o.redact(raw) : raw;
      log?.write(line + '\n');
      tail.push(line);
      o.onLine?.(stream, line);
    });
    const pipe = child[stream] as Readable;
    pipe.setEncoding('utf8');
    pipe.on('data', (text: string) => splitter.push(text));
    const closed = new Promise<void>((r) => pipe.once('close', () => r()));
    return { splitter, pipe, closed };
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));

  const done = exit.then(async ({ code, signal }) => {
    exited = true;
    if (killTimer) clearTimeout(killTimer);
    // The leader is gone; whatever is left of its group goes too (after a stop, or a leak).
    signalGroup(pid, 'SIGKILL');
    o.signal?.removeEventListener('abort', onAbort);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), o.drainMs ?? 2000)));
    const tooLate = await Promise.race([Promise.all(pipes.map((p) => p.closed)).then(() => false), late]);
    clearTimeout(timer);
    if (tooLate) for (const p of pipes) p.pipe.destroy();
    for (const p of pipes) p.splitter.end();
    if (log) await new Promise<void>((r) => log.end(() => r()));
    return { code, signal, stoppedBy, tail: tail.last() };
  });

  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  return { pid, done, stop };
}

/** Opens `file` for appending (directory created); a write error later only ends the logging. */
function openLog(file: string): fs.WriteStream {
  let fd: number;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(file, 'a');
  } catch (err) {
    throw new Error(`cannot open log file ${file}: ${(err as Error).message}`);
  }
  const stream = fs.createWriteStream('', { fd });
  stream.on('error', () => {});
  return stream;
}

function describeSpawnError(err: NodeJS.ErrnoException, cmd: string, cwd: string | undefined): string {
  if (err.code === 'ENOENT') {
    // Node reports a missing working directory as a missing command.
    if (cwd !== undefined && !fs.existsSync(cwd)) return `working directory ${cwd} does not exist`;
    return cmd.includes('/') ? 'no such file' : 'not found on PATH';
  }
  if (err.code === 'EACCES') return 'permission denied (not executable?)';
  return err.message;
}
