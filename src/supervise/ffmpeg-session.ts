import path from 'node:path';
import { progressEntry } from './progress-entry.js';
import { SUPERVISE_DEFAULTS } from './defaults.js';
import { EncodingManager, MANAGER_DEFAULTS, type ManagerSettings, type ManagerStatus, type ManagerVerdict } from './encoding-manager.js';
import { ProgressReader, RateWindow, type ProgressBlock, type Rates } from './ffmpeg-progress.js';
import { openRotatingLog, type Rotation } from './rotating-log.js';
import { spawnSupervised, type OutputStream, type Supervised, type SupervisedExit } from './spawn.js';
import { TimedLines } from './timed-lines.js';

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
  /** `-progress` blocks kept in memory, one entry each (PROGRESS_BUFFER_LEN). Default 100,000. */
  progressLines?: number;
  /** FF WRAPPER's manager; null runs without one (no hung, stall or encoding checks). */
  manager: ManagerSettings | null;
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
  /** stdout and stderr lines with their arrival (clock ms). */
  readonly output: TimedLines;
  /** One entry per `-progress` block: its `key=value` pairs on one line, FF WRAPPER's way (see progressEntry). */
  readonly progress: TimedLines;
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

/** The longest delay a Node timer takes (2^31 − 1 ms, 24.8 days); a later deadline is looked at again then. */
const MAX_TIMER_MS = 2_147_483_647;

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
 * Starts ffmpeg (or any command) in its own process group under FF WRAPPER's supervision: every
 * pipe drained; output and `-progress` lines kept in ring buffers and rotating log files; the
 * manager asked at every progress block and at its hung deadline (no timer ticking while all is
 * well: a hundred supervisors on one host should sleep), and ffmpeg stopped (SIGTERM to the group, SIGKILL after the grace)
 * when it fails the stream. Rejects with a SpawnError when the command cannot start.
 */
export async function startFfmpegSession(o: FfmpegSessionOptions): Promise<FfmpegSession> {
  const clock = o.clock ?? Date.now;
  const ffmpeg = o.isFfmpeg ?? isFfmpeg(o.argv);
  const argv = withProgressArgs(o.argv, ffmpeg);
  const wantsProgress = ffmpeg && argv.includes('pipe:3');
  const output = new TimedLines(o.stdoutLines ?? SUPERVISE_DEFAULTS.bufferLines);
  const progress = new TimedLines(o.progressLines ?? SUPERVISE_DEFAULTS.bufferLines);
  const progressLog = o.progressLogFile && wantsProgress ? openRotatingLog(o.progressLogFile, o.logRotation) : null;
  const startedAt = clock();
  const manager = o.manager ? new EncodingManager(o.manager, startedAt) : null;
  let last: ProgressBlock | null = null;
  // Without a manager, the session measures current rates itself.
  const window = manager ? null : new RateWindow(MANAGER_DEFAULTS.rateWindowMs);
  const rates = (): Rates => manager?.rates() ?? (window as RateWindow).rates();
  // Set once the session exists: the manager's verdicts stop it.
  let judge: (() => void) | null = null;
  const reader = new ProgressReader((b) => {
    last = b;
    manager?.block(b);
    window?.push(b);
    o.onBlock?.(b, rates());
    judge?.();
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
      tailLines: SUPERVISE_DEFAULTS.errorTailLines,
      killGraceMs: o.killGraceMs,
      signal: o.signal,
      onLine: (stream, line) => {
        const at = clock();
        output.push(line, at);
        manager?.output(at);
        o.onLine?.(stream, line);
      },
      onFd3Line: wantsProgress
        ? (line) => {
            // One entry and one log write per block (a dozen lines, twice a second), not one per line.
            blockLines.push(line);
            if (line.startsWith('progress=')) {
              progress.push(progressEntry(blockLines), clock());
              flushBlock();
            }
            reader.line(line);
          }
        : undefined,
    });
  } catch (err) {
    progressLog?.close();
    throw err;
  }

  let verdict: ManagerVerdict | null = null;
  let quietNow = false;
  let hungTimer: NodeJS.Timeout | null = null;
  // Once a stop is asked for, the manager has nothing left to judge: a verdict now would turn a clean stop into a failure.
  const quiet = () => {
    quietNow = true;
    if (hungTimer) clearTimeout(hungTimer);
    hungTimer = null;
  };
  o.signal?.addEventListener('abort', quiet, { once: true });
  if (manager) {
    let armedFor = Infinity;
    // The one timer: at the manager's next deadline (hung, a stall, a problem's error time);
    // what came since then may move it, so look again. Capped: Node cuts longer delays to 1 ms.
    const arm = () => {
      if (hungTimer) clearTimeout(hungTimer);
      hungTimer = null;
      if (quietNow || verdict) return;
      armedFor = manager.nextDeadline();
      hungTimer = setTimeout(() => {
        hungTimer = null;
        judge?.();
        if (!hungTimer) arm();
      }, Math.min(MAX_TIMER_MS, Math.max(1, armedFor - clock())));
      hungTimer.unref();
    };
    judge = () => {
      if (quietNow || verdict) return;
      const v = manager.tick(clock());
      if (v) {
        verdict = v;
        quiet();
        o.onVerdict?.(v);
        proc.stop(`${v.reason}: ${v.message}`);
        return;
      }
      // A problem or a stall began: its deadline is sooner than the one armed.
      if (manager.nextDeadline() < armedFor) arm();
    };
    arm();
  }

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
