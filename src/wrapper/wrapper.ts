import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { redactCommand, redactUrlSecrets } from '../core/redact-url.js';
import { isFfmpeg, startFfmpegSession, type FfmpegSession } from '../supervise/ffmpeg-session.js';
import { processStartTime } from '../supervise/pid-file.js';
import { SpawnError } from '../supervise/spawn.js';
import { startZombieReaper, type ZombieReaper } from '../supervise/zombie-reaper.js';
import type { WrapperSettings } from './env-settings.js';
import { containerId } from './container-id.js';
import { WRAPPER_DEFAULTS } from './defaults.js';
import { startStatusApi, type WrapperStatus, type WrapperView } from './status-api.js';
import { claimPidFile, prepareWorkdir, type Workdir } from './workdir.js';

/** Where the wrapper's own messages go (stderr in `drover run`). */
export type Say = (text: string) => void;

/**
 * Where the command's own output lines go with LOG_TO_STDERR on: our stderr, as they come. The
 * lines of one chunk of output leave in one write.
 */
let pending = '';
const toStderr = (line: string): void => {
  if (pending === '') queueMicrotask(flushStderr);
  pending += line + '\n';
};
function flushStderr(): void {
  const text = pending;
  pending = '';
  process.stderr.write(text);
}

/**
 * `drover run -- ffmpeg ...`: an FF WRAPPER-compatible supervisor. Claims WORKDIR, listens on the
 * API, starts ffmpeg under the manager and waits. Resolves to the exit code: 1 when ffmpeg ended
 * by itself or was stopped as failed (as FF WRAPPER), 0 when it was stopped by SIGTERM/SIGINT and ended cleanly.
 * Throws a ConfigError (or SpawnError) for what stops it from starting, before ffmpeg runs.
 * The command's output lines (redacted) go to `pass` unless LOG_TO_STDERR is off; then its last
 * lines are said when it fails.
 */
export async function runWrapper(argv: string[], s: WrapperSettings, say: Say, pass: (line: string) => void = toStderr): Promise<number> {
  // Any command runs under the manager; the messages name ffmpeg only when it is ffmpeg.
  const what = isFfmpeg(argv) ? 'ffmpeg' : 'the command';
  const dir = prepareWorkdir(s.workdir);
  const releasePid = claimPidFile(dir.status, say);
  const life: Life = { session: null, requested: null, ended: false };
  const startTime = new Date();
  const view = makeView(life, startTime, redactCommand(argv));
  let api: Awaited<ReturnType<typeof startStatusApi>> | null = null;
  let reaper: ZombieReaper | null = null;
  // Installed first: a SIGTERM while starting must not kill us and orphan a fresh ffmpeg.
  const onStop = (sig: NodeJS.Signals) => () => {
    life.requested ??= sig;
    say(`${sig}: stopping ${what}`);
    life.session?.stop(sig, sig);
  };
  const signals: Array<[NodeJS.Signals, () => void]> = [
    ['SIGTERM', onStop('SIGTERM')],
    ['SIGINT', onStop('SIGINT')],
    [
      'SIGHUP',
      () => {
        if (life.session) rotate(life.session, say);
        reloadApiTls(api, say);
      },
    ],
  ];
  for (const [sig, fn] of signals) process.on(sig, fn);
  try {
    api = await startStatusApi({ host: s.apiHost, port: s.apiPort, token: s.apiToken, tls: s.apiTls, view });
    say(`status API on ${api.url}`);
    try {
      reaper = startZombieReaper({ ownChildren: () => (life.session ? [life.session.pid] : []) });
      if (reaper) say('running as PID 1: reaping orphaned processes');
    } catch (err) {
      // ffmpeg still runs well without it; zombies only pile up if something orphans processes.
      say(`warning: ${errorMessage(err)}`);
    }
    if (life.requested) return 0;
    let sess: FfmpegSession;
    try {
      sess = await startFfmpegSession({
        argv,
        redact: redactUrlSecrets,
        logFile: s.noFileLog ? null : path.join(dir.logs, 'ffmpeg.log'),
        progressLogFile: s.noFileLog ? null : path.join(dir.logs, 'progress.log'),
        logRotation: s.rotation,
        stdoutLines: s.stdoutLines,
        progressLines: s.progressLines,
        manager: s.manager,
        killGraceMs: s.killGraceMs,
        onVerdict: (v) => say(`stream failed (${v.reason}): ${v.message}; stopping ${what}`),
        onLine: s.logToStderr ? (_stream, line) => pass(line) : undefined,
      });
    } catch (err) {
      if (err instanceof SpawnError && err.code === 'ENOENT') throw new SpawnError(`${err.message} (install it, or give its full path)`, err.code);
      throw err;
    }
    life.session = sess;
    if (life.requested) sess.stop(life.requested, life.requested as NodeJS.Signals);
    say(`started pid ${sess.pid}: ${view.cmd().join(' ')}`);
    writeStatusFiles(dir, sess, startTime, view.cmd());
    const debug = s.debug ? setInterval(() => say(`debug: ${JSON.stringify(view.status())}`), 1000) : null;

    const exit = await sess.done;
    life.ended = true;
    if (debug) clearInterval(debug);
    const how = exit.code === null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    writeJson(path.join(dir.status, 'status.json'), { ...view.status(), exitCode: exit.code, exitSignal: exit.signal });
    if (life.requested && exit.stoppedCleanly && !exit.verdict) {
      say(`${what} stopped on ${life.requested}, ${how}`);
      return 0;
    }
    if (!s.logToStderr) sayTail(sess, what, say);
    say(exit.verdict ? `${what} stopped as failed (${exit.verdict.reason}), ${how}` : `${what} ended, ${how}`);
    return 1;
  } finally {
    // An error after the start (a status file that cannot be written) must not orphan ffmpeg.
    if (life.session && !life.ended) {
      life.session.stop('wrapper error');
      await life.session.done;
    }
    for (const [sig, fn] of signals) process.off(sig, fn);
    reaper?.stop();
    await api?.close();
    releasePid();
  }
}

/** The command's last output lines, for a failure whose output was not passed through. */
function sayTail(sess: FfmpegSession, what: string, say: Say): void {
  const tail = sess.output.last(WRAPPER_DEFAULTS.failureTailLines);
  if (tail.length === 0) return say(`${what} wrote nothing`);
  say(`${what}'s last ${tail.length === 1 ? 'line' : `${tail.length} lines`}:`);
  for (const [, line] of tail) say(`  ${line}`);
}

function rotate(sess: FfmpegSession, say: Say): void {
  try {
    sess.rotateLogs();
    say('SIGHUP: logs rotated');
  } catch (err) {
    say(`SIGHUP: cannot rotate logs: ${errorMessage(err)}`);
  }
}

/** The wrapper's moving parts, as the API sees them. */
interface Life {
  session: FfmpegSession | null;
  /** The signal that asked for a stop, or null. */
  requested: string | null;
  ended: boolean;
}

function makeView(life: Life, startTime: Date, given: string[]): WrapperView {
  return {
    progressLines: (n) => life.session?.progress.last(n) ?? [],
    outputLines: (n) => life.session?.output.last(n) ?? [],
    containerId: containerId(),
    bufferedLines: () => (life.session?.progress.length ?? 0) + (life.session?.output.length ?? 0),
    startTime,
    cmd: () => (life.session ? redactCommand(life.session.argv) : given),
    pid: process.pid,
    ffmpegPid: () => life.session?.pid ?? null,
    status(): WrapperStatus {
      const sess = life.session;
      const m = sess?.status() ?? null;
      const b = sess?.lastBlock() ?? null;
      const r = sess?.rates() ?? { fps: null, speed: null, bytesPerSec: null };
      return {
        state: life.ended ? 'ended' : life.requested || m?.failure ? 'stopping' : 'running',
        manager: m?.state ?? null,
        baselineFps: round2(m?.baselineFps ?? null),
        minFps: round2(m?.minFps ?? null),
        minSpeed: round2(m?.minSpeed ?? null),
        fps: round2(r.fps),
        speed: round2(r.speed),
        bytesPerSec: r.bytesPerSec === null ? null : Math.round(r.bytesPerSec),
        frame: b?.frame ?? null,
        totalSize: b?.totalSize ?? null,
        mediaSeconds: b?.outTimeUs == null ? null : b.outTimeUs / 1e6,
        problems: m?.problems ?? [],
        failureReason: m?.failure?.reason ?? null,
        failure: m?.failure?.message ?? null,
      };
    },
  };
}

function round2(n: number | null): number | null {
  return n === null ? null : Math.round(n * 100) / 100;
}

/** WORKDIR/status: what FF WRAPPER calls the current status, readable without the API. */
function writeStatusFiles(dir: Workdir, sess: FfmpegSession, startTime: Date, cmd: string[]): void {
  // The start time lets a later run stop this ffmpeg if we die without doing it (claimPidFile).
  fs.writeFileSync(path.join(dir.status, 'FFMPEG_PID'), `${sess.pid}\n${processStartTime(sess.pid) ?? '?'}\n`);
  fs.writeFileSync(path.join(dir.status, 'start_time'), `${startTime.toISOString()}\n`);
  writeJson(path.join(dir.status, 'cmd.json'), cmd);
}

function writeJson(file: string, value: unknown): void {
  try {
    fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  } catch {
    // The status files are a convenience; the API is the record.
  }
}

/** SIGHUP: the API's certificate read again (a renewal) for new connections; the one in use stays on an error. */
function reloadApiTls(api: { reloadTls(): void } | null, say: (line: string) => void): void {
  if (!api) return;
  try {
    api.reloadTls();
  } catch (err) {
    say(`SIGHUP: TLS certificate not reloaded, the one in use stays: ${errorMessage(err)}`);
  }
}
