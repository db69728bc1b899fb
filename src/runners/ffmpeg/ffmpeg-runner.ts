import fs from 'node:fs';
import path from 'node:path';
import { errorMessage, ValidationError } from '../../core/errors.js';
import { redactText, secretValuesOf, type Progress } from '../../core/job.js';
import { delay } from '../../core/long-timeout.js';
import { redactCommand, redactUrlSecrets } from '../../core/redact-url.js';
import { startFfmpegSession, type FfmpegExit } from '../../supervise/ffmpeg-session.js';
import type { ProgressBlock, Rates } from '../../supervise/ffmpeg-progress.js';
import { writePidFile } from '../../supervise/pid-file.js';
import { SpawnError } from '../../supervise/spawn.js';
import { throttleLatest } from '../../supervise/throttle.js';
import type { AbortReason, RunContext, RunResult, Runner } from '../runner.js';
import { planCommand } from '../shared/command-plan.js';
import { deliver } from '../shared/deliver.js';
import { parseDest, safeDestinationDir } from '../shared/destination.js';
import { HostDeniedError, type HostGuard } from '../../core/host-guard.js';
import { resolveOutdir } from '../shared/outdir.js';
import { jobPidFile } from '../shared/pid-path.js';
import { stoppedResult } from '../shared/stop-result.js';
import { ffmpegArgv, INPUT_PROTOCOLS, parseFfmpegParams } from './ffmpeg-params.js';
import { checkOutputs } from './output-check.js';
import { changesLength, inputAndLimit, probeDuration } from './probe.js';
import type { FfmpegSettings } from './settings.js';

/** Progress goes to the coordinator at most this often, ms. */
const PROGRESS_EVERY_MS = 500;

/** One job's ffmpeg, worked out on the worker. */
interface FfmpegPlan {
  /** The argv of one run; `run` counts from 0 (params jobs give each live run a file of its own). */
  argv: (run: number) => string[];
  env: Record<string, string>;
  outdir: string;
  cwd: string;
  /** Finished files move here; null leaves them in outdir. */
  destDir: string | null;
  live: boolean;
  /** The input for ffprobe, with ffprobe's options; null when it has no duration to find. */
  probe: { input: string; args: string[] } | null;
  /** -t, seconds, when given. */
  limit: number | null;
  /** Whether the output should hold the input's duration (or -t): false when a template seeks, trims, filters or loops. */
  lengthKnown: boolean;
}

/**
 * The `ffmpeg` kind: ffmpeg from a template (kind ffmpeg) or from the job's params (input,
 * output, dest...), run under FF WRAPPER's manager with live progress (fps, speed, media time,
 * size, percent when ffprobe knows the input's duration). A failure names its reason (low_fps,
 * low_speed, low_base_fps, stalled, hung, exit N). The fps and speed checks are for live
 * recordings (a file transcodes at the encoder's pace, not the source's); hung and stall checks
 * apply to all. Live recordings restart with backoff within the attempt. Output files move to the
 * job's destination after each run.
 */
export class FfmpegRunner implements Runner {
  readonly kind = 'ffmpeg';

  constructor(private readonly s: FfmpegSettings) {}

  async run(ctx: RunContext): Promise<RunResult> {
    const { job, template } = ctx;
    const secrets = secretValuesOf(job.params, [...new Set([...job.secrets, ...(template?.secrets ?? [])])]);
    const redact = (t: string) => redactUrlSecrets(redactText(t, secrets));
    let plan: FfmpegPlan;
    try {
      plan = this.plan(ctx);
      fs.mkdirSync(plan.outdir, { recursive: true });
    } catch (err) {
      if (err instanceof ValidationError) return { outcome: 'failed', error: redact(err.message), retryable: false };
      return { outcome: 'failed', error: redact(`cannot prepare the job's directory: ${errorMessage(err)}`), retryable: true };
    }
    const denied = await deniedHost(this.s.hosts, plan.argv(0));
    if (denied !== null) return { outcome: 'failed', error: redact(denied), retryable: false };
    const probed = plan.probe && !plan.live ? await probeDuration(this.s.ffprobe, plan.probe.input, plan.probe.args, ctx.signal) : null;
    if (ctx.signal.aborted) return stopped(ctx, { outdir: plan.outdir, files: [], restarts: 0, reason: null });
    const totalSeconds = probed !== null && plan.limit !== null ? Math.min(probed, plan.limit) : (probed ?? plan.limit);
    const expected = totalSeconds === null || !plan.lengthKnown ? null : { seconds: totalSeconds, from: expectedFrom(probed, plan.limit) };
    const manager = { ...this.s.manager, ...(plan.live ? {} : { checkEnabled: false }), ...template?.checks };
    const r = this.s.restart;
    const files: string[] = [];
    let restarts = 0;
    let streak = 0;
    let backoff = r.backoffMs;
    for (;;) {
      const startedAt = Date.now();
      const run = await this.runOnce(ctx, plan, restarts, manager, totalSeconds, redact);
      if ('outcome' in run) return run;
      const exit = run.exit;
      const aborted = exit.stoppedBy !== null && ctx.signal.aborted;
      const why = exit.verdict ? `${exit.verdict.reason}: ${exit.verdict.message}` : exit.code === 0 ? null : exit.code === null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
      const result = { exitCode: exit.code, outdir: plan.outdir, files, restarts, reason: aborted ? null : (exit.verdict?.reason ?? (exit.code === 0 ? null : 'exit')) };
      // A file that ends early is kept back from the destination: it would pass for a finished one there.
      if (!plan.live && !aborted && why === null) {
        const bad = await checkOutputs({ ffprobe: this.s.ffprobe, files: listFiles(plan.outdir).map((n) => path.join(plan.outdir, n)), expected, signal: ctx.signal });
        if (bad !== null) {
          ctx.log('drover', `${bad}\n`);
          const tail = exit.tail.join('\n').slice(-2000);
          return { outcome: 'failed', error: tail ? `${bad}; last output:\n${tail}` : bad, result: { ...result, reason: 'short_output' }, retryable: true };
        }
      }
      const undelivered = this.deliverOutputs(ctx, plan, files);
      if (aborted) return stopped(ctx, result, undelivered);
      if (undelivered) return { outcome: 'failed', error: undelivered, retryable: true, result };
      if (!plan.live) {
        if (why === null) return { outcome: 'succeeded', result };
        const tail = exit.tail.join('\n').slice(-2000);
        return { outcome: 'failed', error: tail ? `${why}; last output:\n${tail}` : why, result, retryable: true };
      }
      // A live recording: whatever ended it, it starts again, with backoff.
      if (Date.now() - startedAt >= r.stableMs) {
        streak = 0;
        backoff = r.backoffMs;
      }
      if (++streak > r.maxRestarts) return { outcome: 'failed', error: `${why ?? 'ended'}; gave up after ${r.maxRestarts} restarts without a stable run`, result, retryable: true };
      restarts++;
      ctx.log('drover', `${why ?? 'ended'}; restart ${restarts} in ${backoff / 1000} s\n`);
      ctx.progress({ message: `restarting in ${backoff / 1000} s (${why ?? 'ended'})`, restarts });
      try {
        // Any length: `max_backoff` comes from the config (node:timers/promises overflows past 24.8 days).
        await delay(backoff, ctx.signal);
      } catch {
        return stopped(ctx, result);
      }
      backoff = Math.min(r.maxBackoffMs, Math.round(backoff * 1.5));
    }
  }

  private plan(ctx: RunContext): FfmpegPlan {
    const { job, template } = ctx;
    const dest = typeof job.params.dest === 'string' ? parseDest(job.params.dest, 'params') : null;
    const destDir = dest ? safeDestinationDir(this.s.destinations, dest, { create: false }) : null;
    if (template) {
      // Delivery moves every file of the outdir: it must be this job's alone.
      if (destDir !== null && !template.outdir.includes('{id}')) throw new ValidationError(`params.dest: template ${template.name} has outdir "${template.outdir}", which other jobs may share; a dest needs an outdir with {id}`, 'params.dest');
      const p = planCommand(job, template, ctx.outputRoot);
      const { input, limit } = inputAndLimit(p.argv);
      const live = template.live || job.params.live === true || job.params.live === 'true';
      return { ...p, argv: () => p.argv, destDir, live, probe: input === null ? null : { input, args: [] }, limit, lengthKnown: !changesLength(p.argv) };
    }
    const p = parseFfmpegParams(job.params);
    const outdir = resolveOutdir(ctx.outputRoot, '{template}_{id}', { template: 'ffmpeg', id: job.id });
    const argv = (run: number) => ffmpegArgv(this.s.ffmpeg, p, path.join(outdir, p.live ? runFileName(p.output, run) : p.output));
    const streaming = /^(rtsps?|rtmps?|srt|udp|tcp):/i.test(p.input);
    return { argv, env: {}, outdir, cwd: outdir, destDir, live: p.live, probe: streaming ? null : { input: p.input, args: ['-protocol_whitelist', INPUT_PROTOCOLS] }, limit: p.duration, lengthKnown: true };
  }

  /** One run of ffmpeg; a RunResult when it could not start. */
  private async runOnce(ctx: RunContext, plan: FfmpegPlan, restarts: number, manager: FfmpegSettings['manager'], totalSeconds: number | null, redact: (t: string) => string): Promise<RunResult | { exit: FfmpegExit }> {
    const progress = throttleLatest((p: Progress) => ctx.progress(p), PROGRESS_EVERY_MS);
    const logFile = path.join(ctx.logDir, `${ctx.job.id}.log`);
    const pidFile = jobPidFile(ctx.logDir, ctx.job.id);
    try {
      const session = await startFfmpegSession({
        argv: plan.argv(restarts),
        isFfmpeg: true,
        cwd: plan.cwd,
        env: { ...process.env, ...plan.env },
        redact,
        logFile,
        logRotation: this.s.rotation,
        stdoutLines: 200,
        progressLines: 200,
        manager,
        killGraceMs: ctx.template?.killGraceMs,
        signal: ctx.signal,
        onLine: (stream, line) => ctx.log(stream, line + '\n'),
        onBlock: (b, rates) => progress.push(progressOf(b, rates, totalSeconds, restarts)),
        onVerdict: (v) => ctx.log('drover', `stream failed (${v.reason}): ${v.message}; stopping ffmpeg\n`),
      });
      ctx.log('drover', `$ ${redactCommand(session.argv).map(redact).join(' ')}\nstarted pid ${session.pid}\n`);
      // If this worker dies without stopping ffmpeg, its next start kills the group (Agent.start).
      try {
        writePidFile(pidFile, session.pid);
      } catch (err) {
        ctx.log('drover', `cannot write ${pidFile}: ${errorMessage(err)}\n`);
      }
      const exit = await session.done;
      return { exit };
    } catch (err) {
      const msg = redact(errorMessage(err));
      ctx.log('drover', msg + '\n');
      return { outcome: 'failed', error: err instanceof SpawnError && err.code === 'ENOENT' ? `${msg} (set worker.ffmpeg.binary, or install ffmpeg)` : msg, retryable: !(err instanceof SpawnError) };
    } finally {
      progress.cancel();
      fs.rmSync(pidFile, { force: true });
    }
  }

  /** Moves the files ffmpeg wrote to the destination; what went wrong, or null. */
  private deliverOutputs(ctx: RunContext, plan: FfmpegPlan, files: string[]): string | null {
    if (plan.destDir === null) {
      for (const name of listFiles(plan.outdir)) if (!files.includes(path.join(plan.outdir, name))) files.push(path.join(plan.outdir, name));
      return null;
    }
    try {
      for (const name of listFiles(plan.outdir)) {
        const d = deliver(path.join(plan.outdir, name), plan.destDir, name, 'rename');
        files.push(d.path);
        ctx.log('drover', `delivered ${d.path}\n`);
      }
      return null;
    } catch (err) {
      const msg = `cannot deliver to ${plan.destDir}: ${errorMessage(err)}`;
      ctx.log('drover', msg + '\n');
      return msg;
    }
  }
}

/** Where the expected media time came from, for the message of a short output. */
function expectedFrom(probed: number | null, limit: number | null): string {
  if (probed !== null && (limit === null || probed <= limit)) return "the input's duration";
  return `-t ${limit}`;
}

/** Regular, non-hidden files directly in `dir`. */
function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function progressOf(b: ProgressBlock, rates: Rates, totalSeconds: number | null, restarts: number): Progress {
  const media = b.outTimeUs === null ? null : b.outTimeUs / 1e6;
  const p: Progress = {};
  if (b.totalSize !== null) p.bytes = b.totalSize;
  if (rates.bytesPerSec !== null) p.speed = Math.round(rates.bytesPerSec);
  if (rates.fps !== null) p.fps = Math.round(rates.fps * 10) / 10;
  if (rates.speed !== null) p.mediaSpeed = Math.round(rates.speed * 100) / 100;
  if (media !== null) p.mediaSeconds = Math.round(media * 10) / 10;
  if (media !== null && totalSeconds !== null) {
    p.percent = Math.min(100, (media / totalSeconds) * 100);
    if (rates.speed) p.eta = Math.max(0, Math.round((totalSeconds - media) / rates.speed));
  }
  if (restarts > 0) p.restarts = restarts;
  return p;
}

function stopped(ctx: RunContext, result: unknown, undelivered: string | null = null): RunResult {
  const reason = ctx.signal.reason as AbortReason;
  const also = undelivered ? `; ${undelivered}` : '';
  const what = reason === 'canceled' ? 'canceled; ffmpeg stopped' : reason === 'timed_out' ? 'time limit reached; ffmpeg stopped' : `stopped: ${reason}`;
  return stoppedResult(reason, what + also, result);
}

/** `cam.ts` for run 0, then `cam-1.ts`, `cam-2.ts`...: each run of a live recording keeps its own file. */
function runFileName(name: string, run: number): string {
  if (run === 0) return name;
  const ext = path.extname(name);
  return `${name.slice(0, name.length - ext.length)}-${run}${ext}`;
}

/** ffmpeg's network protocols whose URLs name a host. */
const NETWORK = /^(https?|rtsps?|rtmp[ste]*|rtp|srtp|udp|tcp|tls|srt|mms[th]?|ftp|gopher|icecast|rist|zmq):\/\//i;

/**
 * Why the first URL of `argv` whose host the worker's rules refuse is refused, or null. ffmpeg
 * resolves names itself, after this: a name whose answer changes in between is not caught
 * (downloads check the address they connect to).
 */
async function deniedHost(hosts: HostGuard | undefined, argv: readonly string[]): Promise<string | null> {
  if (!hosts || hosts.off) return null;
  for (const a of argv) {
    if (!NETWORK.test(a)) continue;
    let host: string;
    try {
      host = new URL(a).hostname;
    } catch {
      continue;
    }
    try {
      await hosts.check(host);
    } catch (err) {
      if (err instanceof HostDeniedError) return `${redactUrlSecrets(a)}: ${err.message}`;
      // A name that does not resolve: ffmpeg says so itself.
    }
  }
  return null;
}
