import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { longTimeout, type LongTimeout } from '../core/long-timeout.js';
import { SUPERVISE_DEFAULTS } from './defaults.js';
import { LineSplitter } from './line-splitter.js';
import { dyingWithParent } from './die-with-parent.js';
import { signalGroup } from './process-group.js';
import { RingBuffer } from './ring-buffer.js';
import { openRotatingLog, type Rotation } from './rotating-log.js';

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
  /** How `logFile` rotates. Default: by size, 25,000 KiB, 5 backups (see RotatingLog). */
  logRotation?: Rotation;
  /**
   * Applied to every line before it is logged, kept or passed on (e.g. to hide secrets). It sees
   * whole lines, so text cut between two reads is caught; only a value cut by the 64 KiB piece
   * limit of an over-long line (see MAX_LINE) can slip through.
   */
  redact?: (line: string) => string;
  /** Called for every line of stdout and stderr, without its line ending. */
  onLine?: (stream: OutputStream, line: string) => void;
  /**
   * Called for every line the child writes to its fd 3 (a pipe is opened there only when this is
   * set): ffmpeg's `-progress pipe:3`, which keeps stdout free for media. Not logged, not in
   * `tail`, not redacted (counters only).
   */
  onFd3Line?: (line: string) => void;
  /**
   * No-output watchdog, ms: when no line comes on any stream (stdout, stderr, fd 3) for this long,
   * the process is stopped with the reason "no output for N s". Default: off.
   */
  stallMs?: number;
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
  /**
   * We stopped it and it ended as asked: exit 0, ffmpeg's 255 ("Exiting normally, received
   * signal 15"), killed by the SIGTERM/SIGINT itself, or exit 128 + that signal's number (a
   * shell's way to say it, e.g. 130 after SIGINT). False when it had to be SIGKILLed.
   */
  stoppedCleanly: boolean;
}

export interface Supervised {
  /** Pid of the leader, which is also the process group id. */
  readonly pid: number;
  /** Resolves when the leader has exited, its group is gone and all output is written. */
  readonly done: Promise<SupervisedExit>;
  /** `sig` (default SIGTERM) to the whole group, SIGKILL after `killGraceMs`. Only the first call counts. */
  stop(reason: string, sig?: NodeJS.Signals): void;
  /** Starts a new log file now (SIGHUP). No-op without `logFile`. */
  rotateLog(): void;
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
  if (o.stallMs !== undefined && !(o.stallMs > 0)) throw new RangeError(`stall timeout must be more than 0 ms, got ${o.stallMs}`);
  const tail = new RingBuffer<string>(o.tailLines ?? SUPERVISE_DEFAULTS.tailLines);
  // Opened (and its error thrown) before anything starts.
  const log = o.logFile === undefined ? null : openRotatingLog(o.logFile, o.logRotation);
  const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe'];
  if (o.onFd3Line) stdio.push('pipe');
  let child: ChildProcess;
  try {
    const [file, ...rest] = dyingWithParent([cmd, ...args], o.cwd, o.env);
    child = spawn(file as string, rest, { cwd: o.cwd, env: o.env, detached: true, stdio });
  } catch (err) {
    // Node throws at once for arguments it refuses, e.g. a NUL byte in an argument.
    log?.close();
    throw new SpawnError(`cannot start "${cmd}": ${(err as Error).message}`, (err as NodeJS.ErrnoException).code);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', (err: NodeJS.ErrnoException) => {
      log?.close();
      reject(new SpawnError(`cannot start "${cmd}": ${describeSpawnError(err, cmd, o.cwd)}`, err.code));
    });
  });
  // From here on an 'error' (e.g. a failed kill) must not crash the process; the exit still comes.
  child.on('error', () => {});

  let stoppedBy: string | null = null;
  let stopSignal: NodeJS.Signals | null = null;
  let exited = false;
  let killTimer: LongTimeout | null = null;
  const stop = (reason: string, sig: NodeJS.Signals = 'SIGTERM'): void => {
    if (stoppedBy !== null || exited) return;
    stoppedBy = reason;
    stopSignal = sig;
    signalGroup(pid, sig);
    // A stopped (SIGSTOP) or hung-in-a-debugger group holds the signal pending until continued.
    signalGroup(pid, 'SIGCONT');
    // A long timer: `kill_grace` comes from the config, and a plain setTimeout past 24.8 days fires at once.
    killTimer = longTimeout(() => signalGroup(pid, 'SIGKILL'), o.killGraceMs ?? SUPERVISE_DEFAULTS.killGraceMs);
  };
  const onAbort = () => stop(String(o.signal?.reason ?? 'aborted'));

  let lastOutputAt = Date.now();
  const drain = (pipe: Readable, onLine: (raw: string) => void) => {
    const splitter = new LineSplitter((raw) => {
      lastOutputAt = Date.now();
      onLine(raw);
    });
    pipe.setEncoding('utf8');
    pipe.on('data', (text: string) => splitter.push(text));
    const closed = new Promise<void>((r) => pipe.once('close', () => r()));
    return { splitter, pipe, closed };
  };
  const pipes = (['stdout', 'stderr'] as const).map((stream) =>
    drain(child[stream] as Readable, (raw) => {
      // Whole lines only: a secret cut in two by a read is still caught.
      const line = o.redact ? o.redact(raw) : raw;
      log?.line(line);
      tail.push(line);
      o.onLine?.(stream, line);
    }),
  );
  const onFd3 = o.onFd3Line;
  // Not redacted: fd 3 carries ffmpeg's progress counters (frame=, speed=...), never text of the
  // command, and a dozen lines twice a second through the secret patterns were most of the
  // supervisor's own work.
  if (onFd3) pipes.push(drain(child.stdio[3] as Readable, onFd3));
  const watchdog = o.stallMs === undefined ? null : startWatchdog(o.stallMs, () => lastOutputAt, stop);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));

  const done = exit.then(async ({ code, signal }) => {
    exited = true;
    killTimer?.cancel();
    if (watchdog) clearInterval(watchdog);
    // The leader is gone; whatever is left of its group goes too (after a stop, or a leak).
    signalGroup(pid, 'SIGKILL');
    o.signal?.removeEventListener('abort', onAbort);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), o.drainMs ?? SUPERVISE_DEFAULTS.drainMs)));
    const tooLate = await Promise.race([Promise.all(pipes.map((p) => p.closed)).then(() => false), late]);
    clearTimeout(timer);
    if (tooLate) for (const p of pipes) p.pipe.destroy();
    for (const p of pipes) p.splitter.end();
    log?.close();
    const shellCode = stopSignal ? 128 + (os.constants.signals[stopSignal] ?? 0) : -1;
    const stoppedCleanly = stoppedBy !== null && (code === 0 || code === 255 || code === shellCode || signal === 'SIGTERM' || signal === 'SIGINT');
    return { code, signal, stoppedBy, tail: tail.last(), stoppedCleanly };
  });

  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    pid,
    done,
    stop,
    rotateLog: () => log?.rotate(),
  };
}

/** Checks a few times per `stallMs` that output still comes; stops the process when it does not. */
function startWatchdog(stallMs: number, lastOutputAt: () => number, stop: (reason: string) => void): NodeJS.Timeout {
  const timer = setInterval(() => {
    if (Date.now() - lastOutputAt() >= stallMs) stop(`no output for ${stallMs / 1000} s`);
  }, Math.min(1000, Math.max(50, stallMs / 4)));
  timer.unref();
  return timer;
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
