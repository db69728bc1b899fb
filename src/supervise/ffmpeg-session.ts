import path from 'node:path';
import { SUPERVISE_DEFAULTS } from './defaults.js';
import { EncodingManager, MANAGER_DEFAULTS, type ManagerSettings, type ManagerStatus, type ManagerVerdict } from './encoding-manager.js';
import { ProgressReader, RateWindow, type ProgressBlock, type Rates } from './ffmpeg-progress.js';
import { RingBuffer } from './ring-buffer.js';
import { openRotatingLog, type Rotation } from './rotating-log.js';
import { spawnSupervised, type OutputStream, type Supervised, type SupervisedExit } from './spawn.js';

export interface FfmpegSessionOptions {
  /** The command as given. For ffmpeg, `-nostdin -progress pipe:3` (and `-nostats`) are added; see `withProgressArgs`. */
  argv: string[];
  /** argv[0] is ffmpeg whatever its name (the ffmpeg job kind). Default: judged by the name. */
  isFfmpeg?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied to every line before it is kept, logged or passed on. */
  redact?: (line: string) => string;
  /** stdout and stderr lines go here; null for none. */
  logFile?: string | null;
  /** `-progress` lines go here; null for none. */
  progressLogFile?: string | null;
  /** Both logs rotate like this. Default: by size, 25,000 KiB, 5 backups. */
  logRotation?: Rotation;
  /** Lines of stdout and stderr kept in memory (STDOUT_BUFFER_LEN). Default 100,000. */
  stdoutLines?: number;
  /** Lines of `-progress` kept in memory (PROGRESS_BUFFER_LEN). Default 100,000. */
  progressLines?: number;
  /** The seed's manager; null runs without one (no hung, stall or encoding checks). */
  manager: ManagerSettings | null;
  /** How often the manager looks, ms. Default 1000. */
  tickMs?: number;
  /** Between SIGTERM and SIGKILL, ms. Default 10000. */
  killGraceMs?: number;
  /** Aborting it stops ffmpeg with `signal.reason` as the reason. */
  signal?: AbortSignal;
  /** ms. Default Date.now. */
  clock?: () => number;
  onLine?: (stream: OutputStream, line: string) => void;
  /** Every `-progress` block, with the current rates. */
  onBlock?: (block: ProgressBlock, rates: Rates) => void;
  /** The manager failed the stream; ffmpeg is being stopped. */
  onVerdict?: (v: ManagerVerdict) => void;
}

export interface FfmpegExit extends SupervisedExit {
  /** The manager's verdict when it stopped ffmpeg, else null. */
  verdict: ManagerVerdict | null;
}

/** A running ffmpeg under supervision: its output, its progress, the manager's view. */
export interface FfmpegSession {
  readonly pid: number;
  /** The argv really run (with the progress arguments). */
  readonly argv: string[];
  /** ms on the session clock. */
  readonly startedAt: number;
  readonly output: RingBuffer<string>;
  readonly progress: RingBuffer<string>;
  lastBlock(): ProgressBlock | null;
  /** The manager's view, or null without a manager. */
  status(): ManagerStatus | null;
  /** Current rates from the last blocks (also without a manager). */
  rates(): Rates;
  /** `sig` (default SIGTERM) to ffmpeg's group, SIGKILL after the grace. */
  stop(reason: string, sig?: NodeJS.Signals): void;
  /** Starts new log files now (SIGHUP). */
  rotateLogs(): void;
  readonly done: Promise<FfmpegExit>;
}

/** True when argv[0] is ffmpeg (any path, e.g. /usr/bin/ffmpeg or ffmpeg-7). */
export function isFfmpeg(argv: string[]): boolean {
  return /^ffmpeg(?:[-.]|$)/.test(path.basename(argv[0] ?? ''));
}

/**
 * For ffmpeg, adds `-nostdin -progress pipe:3` right after the program name, so progress comes
 * on its own pipe and stdout stays free for media; and `-nostats` unless `-stats` or `-nostats`
 * is given, since the progress pipe says the same twice a second. A command that already has
 * `-progress` is left alone. Other commands are returned as they are.
 */
export function withProgressArgs(argv: string[], ffmpeg = isFfmpeg(argv)): string[] {
  if (!ffmpeg || argv.includes('-progress')) return argv;
  const [cmd, ...rest] = argv as [string, ...string[]];
  const extra = ['-nostdin', '-progress', 'pipe:3'];
  if (!rest.includes('-stats') && !rest.includes('-nostats')) extra.push('-nostats');
  return [cmd, ...extra, ...rest];
}

/**
 * Starts ffmpeg (or any command) in its own process group under the seed's supervision: every
 * pipe drained; output and `-progress` lines kept in ring buffers and rotating log files; the
 * manager asked every `tickMs` and ffmpeg stopped (SIGTERM to the group, SIGKILL after the grace)
 * when it fails the stream. Rejects with a SpawnError when the command cannot start.
 */
export async function startFfmpegSession(o: FfmpegSessionOptions): Promise<FfmpegSession> {
  const clock = o.clock ?? Date.now;
  const ffmpeg = o.isFfmpeg ?? isFfmpeg(o.argv);
  const argv = withProgressArgs(o.argv, ffmpeg);
  const wantsProgress = ffmpeg && argv.includes('pipe:3');
  const output = new RingBuffer<string>(o.stdoutLines ?? SUPERVISE_DEFAULTS.bufferLines);
  const progress = new RingBuffer<string>(o.progressLines ?? SUPERVISE_DEFAULTS.bufferLines);
  const progressLog = o.progressLogFile && wantsProgress ? openRotatingLog(o.progressLogFile, o.logRotation) : null;
  const startedAt = clock();
  const manager = o.manager ? new EncodingManager(o.manager, startedAt) : null;
  let last: ProgressBlock | null = null;
  // Without a manager, the session measures current rates itself.
  const window = manager ? null : new RateWindow(MANAGER_DEFAULTS.rateWindowMs);
  const rates = (): Rates => manager?.rates() ?? (window as RateWindow).rates();
  const reader = new ProgressReader((b) => {
    last = b;
    manager?.block(b);
    window?.push(b);
    o.onBlock?.(b, rates());
  }, clock);

  let blockLines: string[] = [];
  const flushBlock = () => {
    if (blockLines.length > 0) progressLog?.line(blockLines.join('\n'));
    blockLines = [];
  };
  let proc: Supervised;
  try {
    proc = await spawnSupervised({
      argv,
      cwd: o.cwd,
      env: o.env,
      redact: o.redact,
      logFile: o.logFile ?? undefined,
      logRotation: o.logRotation,
      tailLines: 20,
      killGraceMs: o.killGraceMs,
      signal: o.signal,
      onLine: (stream, line) => {
        output.push(line);
        manager?.output(clock());
        o.onLine?.(stream, line);
      },
      onFd3Line: wantsProgress
        ? (line) => {
            progress.push(line);
            // One write per block (a dozen lines, twice a second), not one per line.
            blockLines.push(line);
            if (line.startsWith('progress=')) flushBlock();
            reader.line(line);
          }
        : undefined,
    });
  } catch (err) {
    progressLog?.close();
    throw err;
  }

  let verdict: ManagerVerdict | null = null;
  // Once a stop is asked for, the manager has nothing left to judge: a verdict now would turn a clean stop into a failure.
  const quiet = () => {
    if (timer) clearInterval(timer);
  };
  o.signal?.addEventListener('abort', quiet, { once: true });
  const timer = manager
    ? setInterval(() => {
        const v = manager.tick(clock());
        if (v && !verdict) {
          verdict = v;
          o.onVerdict?.(v);
          proc.stop(`${v.reason}: ${v.message}`);
        }
      }, o.tickMs ?? SUPERVISE_DEFAULTS.managerTickMs)
    : null;
  timer?.unref();

  const done = proc.done.then((exit) => {
    quiet();
    flushBlock();
    o.signal?.removeEventListener('abort', quiet);
    progressLog?.close();
    return { ...exit, verdict };
  });
  return {
    pid: proc.pid,
    argv,
    startedAt,
    output,
    progress,
    lastBlock: () => last,
    status: () => manager?.status(clock()) ?? null,
    rates,
    stop: (reason, sig) => {
      quiet();
      proc.stop(reason, sig);
    },
    rotateLogs: () => {
      proc.rotateLog();
      progressLog?.rotate();
    },
    done,
  };
}
