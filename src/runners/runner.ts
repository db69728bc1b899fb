import type { Template } from './template.js';
import type { LeasedJob, Outcome, Progress } from '../core/job.js';
import type { SegmentNode } from '../core/reports.js';

/** Why a runner's signal was aborted. */
export type AbortReason = 'canceled' | 'timed_out' | 'shutdown' | 'lost';

/** Everything a runner gets for one attempt of one job. */
export interface RunContext {
  /** The job with its real (unredacted) params. */
  job: LeasedJob;
  /** The template of the job, or null for kinds without one. */
  template: Template | null;
  /**
   * Aborted when the runner must stop: canceled, time limit, worker shutdown or lost lease.
   * `signal.reason` is an AbortReason. The runner stops its work and returns promptly.
   */
  signal: AbortSignal;
  /** Reports live progress; the agent ships the latest with the next heartbeat. */
  progress(p: Progress): void;
  /** Adds text to the job's log (shipped to the coordinator with secrets redacted). */
  log(stream: 'stdout' | 'stderr' | 'drover', text: string): void;
  /** Root under which jobs write their output (the worker's `output_root`), absolute. */
  outputRoot: string;
  /** Directory for this job's local log files, absolute, created by the agent. */
  logDir: string;
  /** The other online workers with a segment server, as the coordinator knows them now (a mirror's `from: registry`). */
  segmentNodes?(): Promise<SegmentNode[]>;
  /** The worker's own token, which its fellow workers' segment servers take. */
  token?: string;
}


export interface RunResult {
  outcome: Outcome;
  /** JSON-serialisable details recorded on the job (exit code, output dir, files...). */
  result?: unknown;
  /** What went wrong, for failed / timed_out / canceled. */
  error?: string;
  /** A failure that another attempt may fix. Default true. */
  retryable?: boolean;
  /**
   * With a success: child jobs to hand the work to (job specs as `POST /jobs` takes them). The
   * job then waits for them, holding no slot, and ends when they have.
   */
  children?: Array<Record<string, unknown>>;
}

/** Runs jobs of one kind. A runner never talks to the coordinator itself. */
export interface Runner {
  readonly kind: string;
  run(ctx: RunContext): Promise<RunResult>;
}
