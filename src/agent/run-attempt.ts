import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import { longTimeout, type LongTimeout } from '../core/long-timeout.js';
import { redactProgress, redactText, type LeasedJob, type Progress } from '../core/job.js';
import type { CompleteItem, SegmentNode } from '../core/reports.js';
import type { AbortReason, RunResult, Runner } from '../runners/runner.js';
import type { Template } from '../runners/template.js';
import type { LazyAbort } from './lazy-abort.js';
import type { LogShipper } from './log-shipper.js';

/** A job this worker holds a lease on. */
export interface Running {
  job: LeasedJob;
  token: string;
  abort: LazyAbort<AbortReason>;
  progress: Progress | null;
  secrets: string[];
  /** The runner has returned (the outcome may still be on its way to the coordinator). */
  hasRun: boolean;
  /** Settles when the outcome has been reported, or dropped. */
  done: Promise<void>;
}

/** What an attempt needs from its worker. */
export interface AttemptContext {
  worker: string;
  runners: Map<string, Runner>;
  templates: Map<string, Template>;
  outputRoot: string;
  logDir: string;
  logs: LogShipper;
  log: Logger;
  token?: string;
  progressChanged(): void;
  segmentNodes(): Promise<SegmentNode[]>;
  /** Called as soon as the runner has returned, before the log is flushed. */
  ranOut(): void;
}

/**
 * Runs one attempt of a leased job through the runner of its kind, under its time limit, and
 * says what to report: null when the lease was lost (nothing is reported then).
 */
export async function runAttempt(r: Running, c: AttemptContext): Promise<CompleteItem | null> {
  const { job } = r;
  const runner = c.runners.get(job.kind);
  const template = job.template === null ? null : (c.templates.get(job.template) ?? null);
  let timer: LongTimeout | undefined;
  if (job.timeLimitMs !== null) {
    // The worker enforces the limit itself; the coordinator's check only covers dead workers.
    // Counted from receipt, not from the coordinator's clock, which may differ from ours.
    // A long timer: limits of 25 days and more overflow a plain setTimeout, which fires at once.
    timer = longTimeout(() => r.abort.abort('timed_out' satisfies AbortReason), job.timeLimitMs);
  }
  let result: RunResult;
  try {
    if (!runner) result = { outcome: 'failed', error: `worker ${c.worker} has no runner for kind ${job.kind}`, retryable: true };
    else if (job.template !== null && !template) result = { outcome: 'failed', error: `worker ${c.worker} has no template ${job.template}`, retryable: true };
    else {
      result = await runner.run({
        job,
        template,
        get signal() {
          return r.abort.signal;
        },
        progress: (p) => {
          r.progress = redactProgress(p, r.secrets);
          c.progressChanged();
        },
        log: (stream, text) => c.logs.add(job.id, r.token, stream, redactText(text, r.secrets)),
        outputRoot: c.outputRoot,
        logDir: c.logDir,
        segmentNodes: c.segmentNodes,
        ...(c.token ? { token: c.token } : {}),
      });
    }
  } catch (err) {
    result = { outcome: 'failed', error: redactText(`runner crashed: ${errorMessage(err)}`, r.secrets), retryable: true };
  } finally {
    timer?.cancel();
    c.ranOut();
  }
  const reason = r.abort.reason ?? null;
  if (reason === 'lost') {
    c.logs.drop(job.id);
    c.log.warn({ job: job.id }, 'lease lost; outcome not reported');
    return null;
  }
  // The job's log says how each attempt ended, so `drover logs` of a failure is not blank.
  if (result.outcome !== 'succeeded') {
    const why = reason === 'shutdown' ? `worker ${c.worker} shut down; given back` : (result.error ?? '').split('\n')[0];
    c.logs.add(job.id, r.token, 'drover', redactText(`attempt ${job.attempt} ${reason === 'shutdown' ? 'stopped' : result.outcome}${why ? `: ${why}` : ''}\n`, r.secrets));
  }
  await c.logs.flush(job.id);
  const item: CompleteItem = {
    id: job.id,
    token: r.token,
    outcome: result.outcome,
    result: result.result ?? null,
    error: result.error === undefined ? null : redactText(result.error, r.secrets),
    retryable: result.retryable ?? true,
    ...(r.progress ? { progress: r.progress } : {}),
    ...(result.outcome === 'succeeded' && result.children?.length ? { children: result.children } : {}),
  };
  if (reason === 'shutdown') {
    item.outcome = 'failed';
    item.error = `worker ${c.worker} shut down before the job finished; given back`;
    item.retryable = true;
    item.release = true;
  }
  return item;
}
