import fs from 'node:fs';
import path from 'node:path';
import { errorMessage, ValidationError } from '../../core/errors.js';
import { redactText, secretValuesOf } from '../../core/job.js';
import { formatCommandLine } from '../../supervise/command-line.js';
import { SUPERVISE_DEFAULTS } from '../../supervise/defaults.js';
import { writePidFile } from '../../supervise/pid-file.js';
import type { Rotation } from '../../supervise/rotating-log.js';
import { spawnSupervised, SpawnError, type Supervised } from '../../supervise/spawn.js';
import { throttleLatest } from '../../supervise/throttle.js';
import type { AbortReason, RunContext, RunResult, Runner } from '../runner.js';
import { planCommand, type CommandPlan } from '../shared/command-plan.js';
import { jobPidFile } from '../shared/pid-path.js';
import { stoppedResult } from '../shared/stop-result.js';

/** Cap on that error text, characters (the newest are kept). */
const TAIL_CHARS = 4096;
/** Progress (the last output line) is reported at most this often, ms. */
const PROGRESS_EVERY_MS = 500;
/** Cap on a progress message, characters. */
const PROGRESS_CHARS = 200;

/**
 * Runs a template's command (kind `exec`): the argv is built here, on the worker, from the
 * template in the worker's own config and the job's params, and run without a shell in its own
 * process group, in a directory of its own below the output root. Output goes to the job's log
 * and to `<logDir>/<jobId>.log`, secrets redacted.
 */
export class ExecRunner implements Runner {
  readonly kind = 'exec';

  /** `rotation`: how job log files rotate. Default: by size, 25,000 KiB, 5 backups. */
  constructor(private readonly rotation?: Rotation) {}

  async run(ctx: RunContext): Promise<RunResult> {
    const { job, template } = ctx;
    if (!template) return { outcome: 'failed', error: 'job has no template', retryable: false };
    const secrets = secretValuesOf(job.params, [...new Set([...job.secrets, ...template.secrets])]);
    const redact = (t: string) => redactText(t, secrets);

    let plan: CommandPlan;
    try {
      plan = planCommand(job, template, ctx.outputRoot);
    } catch (err) {
      if (err instanceof ValidationError) return { outcome: 'failed', error: redact(err.message), retryable: false };
      throw err;
    }
    const { argv, outdir, cwd } = plan;
    try {
      fs.mkdirSync(outdir, { recursive: true });
      // A cwd outside the outdir is the template's business: it must exist already.
      if (isInside(outdir, cwd)) fs.mkdirSync(cwd, { recursive: true });
    } catch (err) {
      return { outcome: 'failed', error: redact(`cannot create ${cwd}: ${errorMessage(err)}`), retryable: true };
    }
    const commandLine = `$ ${formatCommandLine(argv, redact)}`;
    ctx.log('drover', commandLine + '\n');
    const logFile = path.join(ctx.logDir, `${job.id}.log`);
    appendQuietly(logFile, `[drover] attempt ${job.attempt}: ${commandLine}\n`);

    const progress = throttleLatest((message: string) => ctx.progress({ message }), PROGRESS_EVERY_MS);
    let proc: Supervised;
    try {
      proc = await spawnSupervised({
        argv,
        cwd,
        env: { ...process.env, ...plan.env },
        logFile,
        logRotation: this.rotation,
        stallMs: template.stallTimeoutMs ?? undefined,
        tailLines: SUPERVISE_DEFAULTS.errorTailLines,
        redact,
        killGraceMs: template.killGraceMs,
        signal: ctx.signal,
        onLine: (stream, line) => {
          ctx.log(stream, line + '\n');
          const message = line.trim();
          if (message !== '') progress.push(message.slice(0, PROGRESS_CHARS));
        },
      });
    } catch (err) {
      const msg = redact(errorMessage(err));
      ctx.log('drover', msg + '\n');
      // A command missing or not executable on this worker: another attempt will not help.
      return { outcome: 'failed', error: msg, retryable: !(err instanceof SpawnError) };
    }
    ctx.log('drover', `started pid ${proc.pid} in ${cwd}\n`);
    // If this worker dies without stopping the group, its next start kills it (Agent.start).
    const pidFile = jobPidFile(ctx.logDir, job.id);
    try {
      writePidFile(pidFile, proc.pid);
    } catch (err) {
      ctx.log('drover', `cannot write ${pidFile}: ${errorMessage(err)}\n`);
    }
    const exit = await proc.done.finally(() => {
      progress.cancel();
      fs.rmSync(pidFile, { force: true });
    });

    const tail = exit.tail.join('\n').slice(-TAIL_CHARS);
    if (exit.stoppedBy !== null) {
      const result = { exitCode: exit.code, signal: exit.signal, outdir };
      const reason = exit.stoppedBy as AbortReason;
      const why = reason === 'timed_out' ? `time limit of ${fmtMs(job.timeLimitMs)} reached; process group killed` : `stopped: ${reason}`;
      ctx.log('drover', why + '\n');
      return stoppedResult(reason, why, result);
    }
    if (exit.code === 0) return { outcome: 'succeeded', result: { exitCode: 0, outdir } };
    const what = exit.code === null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    ctx.log('drover', `${what}\n`);
    const result = { exitCode: exit.code, signal: exit.signal, outdir };
    return { outcome: 'failed', error: tail ? `${what}; last output:\n${tail}` : what, result, retryable: true };
  }
}

function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** Best effort: the local log is a convenience, the job's shipped log is the record. */
function appendQuietly(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, text);
  } catch {
    // spawnSupervised reports a log file it cannot open.
  }
}

function fmtMs(ms: number | null): string {
  if (ms === null) return 'the job';
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
