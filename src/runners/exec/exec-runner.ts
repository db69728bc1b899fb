import fs from 'node:fs';
import path from 'node:path';
import { fillPlaceholders } from '../../config/placeholders.js';
import { errorMessage, ValidationError } from '../../core/errors.js';
import { redactText, secretValuesOf, type ParamValue } from '../../core/job.js';
import { writePidFile } from '../../supervise/pid-file.js';
import { spawnSupervised, SpawnError } from '../../supervise/spawn.js';
import type { AbortReason, RunContext, RunResult, Runner } from '../runner.js';
import { resolveOutdir } from './outdir.js';

/** Lines of output kept for the error of a failed run. */
const TAIL_LINES = 20;
/** Cap on that error text, characters. */
const TAIL_CHARS = 4096;
/** Progress (the last output line) is reported at most this often, ms. */
const PROGRESS_EVERY_MS = 500;

/**
 * Runs a template's command: the argv is built here, on the worker, from the template in the
 * worker's own config and the job's params — never a shell. One output directory per job.
 */
export class ExecRunner implements Runner {
  readonly kind = 'exec';

  async run(ctx: RunContext): Promise<RunResult> {
    const { job, template } = ctx;
    if (!template) return { outcome: 'failed', error: 'job has no template', retryable: false };
    const secrets = secretValuesOf(job.params, [...new Set([...job.secrets, ...template.secrets])]);
    const redact = (t: string) => redactText(t, secrets);

    const values: Record<string, ParamValue | undefined> = {};
    for (const [k, spec] of Object.entries(template.params)) if (spec.default !== undefined) values[k] = spec.default;
    Object.assign(values, job.params, { id: job.id, attempt: job.attempt, template: template.name, queue: job.queue, owner: job.owner ?? '' });
    let argv: string[];
    let env: Record<string, string>;
    let outdir: string;
    let cwd: string;
    try {
      outdir = resolveOutdir(ctx.outputRoot, template.outdir, values);
      values.outdir = outdir;
      argv = template.argv.map((a) => fillPlaceholders(a, values, `template ${template.name}`));
      env = Object.fromEntries(Object.entries(template.env).map(([k, v]) => [k, fillPlaceholders(v, values, `template ${template.name} env.${k}`)]));
      cwd = template.cwd === null ? outdir : path.resolve(outdir, fillPlaceholders(template.cwd, values, `template ${template.name} cwd`));
    } catch (err) {
      if (err instanceof ValidationError) return { outcome: 'failed', error: redact(err.message), retryable: false };
      throw err;
    }
    fs.mkdirSync(outdir, { recursive: true });
    fs.mkdirSync(cwd, { recursive: true });
    ctx.log('drover', `$ ${redact(argv.map(shellQuote).join(' '))}\n`);

    let lastProgress = 0;
    let proc;
    try {
      proc = await spawnSupervised({
        argv,
        cwd,
        env: { ...process.env, ...env },
        logFile: path.join(ctx.logDir, `${job.id}.log`),
        tailLines: TAIL_LINES,
        redact,
        killGraceMs: template.killGraceMs,
        signal: ctx.signal,
        onLine: (stream, clean) => {
          ctx.log(stream, clean + '\n');
          const now = Date.now();
          if (now - lastProgress >= PROGRESS_EVERY_MS && clean.trim() !== '') {
            lastProgress = now;
            ctx.progress({ message: clean.trim().slice(0, 200) });
          }
        },
      });
    } catch (err) {
      const msg = redact(errorMessage(err));
      ctx.log('drover', msg + '\n');
      return { outcome: 'failed', error: msg, retryable: !(err instanceof SpawnError) };
    }
    ctx.log('drover', `started pid ${proc.pid} in ${outdir}\n`);
    // If this worker dies without stopping the group, its next start kills it (Agent.start).
    const pidFile = path.join(ctx.logDir, 'running', `${job.id}.pid`);
    writePidFile(pidFile, proc.pid);
    const exit = await proc.done.finally(() => fs.rmSync(pidFile, { force: true }));
    const result = { exitCode: exit.code, signal: exit.signal, outdir };
    const tail = exit.tail.join('\n').slice(-TAIL_CHARS);
    if (exit.stoppedBy !== null) {
      const reason = exit.stoppedBy as AbortReason;
      const why = reason === 'timed_out' ? `time limit of ${fmtMs(job.timeLimitMs)} reached; process group killed` : `stopped: ${reason}`;
      ctx.log('drover', why + '\n');
      if (reason === 'canceled') return { outcome: 'canceled', error: why, result };
      if (reason === 'timed_out') return { outcome: 'timed_out', error: why, result };
      return { outcome: 'failed', error: why, result, retryable: true };
    }
    if (exit.code === 0) return { outcome: 'succeeded', result };
    const what = exit.code === null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    ctx.log('drover', `${what}\n`);
    return { outcome: 'failed', error: tail ? `${what}; last output:\n${tail}` : what, result, retryable: true };
  }
}

function fmtMs(ms: number | null): string {
  if (ms === null) return 'the job';
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** For the echoed command line only: how a person would type it into a shell. */
function shellQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
