import type { ParamType } from './param-types.js';
import type { JobState, Outcome, Progress, StopReason } from './job.js';

/**
 * What workers and coordinators tell each other: progress and outcomes of leased jobs, log
 * chunks, and what a worker is. The wire protocol carries these records and the stores keep them.
 */

export interface HeartbeatItem {
  id: string;
  token: string;
  progress?: Progress | null;
}
export type HeartbeatAnswer =
  | { id: string; status: 'ok'; leaseExpiresAt: number }
  | { id: string; status: 'stop'; reason: StopReason; leaseExpiresAt: number }
  | { id: string; status: 'lost' };

export interface CompleteItem {
  id: string;
  token: string;
  outcome: Outcome;
  result?: unknown;
  error?: string | null;
  /** A failure that may succeed on another attempt. Default true. */
  retryable?: boolean;
  /**
   * The worker gives the job back unfinished (it is shutting down): the job is queued again at
   * once and this attempt does not count against max attempts.
   */
  release?: boolean;
  progress?: Progress | null;
  /**
   * With a success: child jobs to create (job specs as `POST /jobs` takes them; owner, queue
   * and priority come from the parent unless given). The job then waits for them to end.
   */
  children?: unknown[];
}
/**
 * `freesSlot` is set when the settled job held a concurrency key: its end may let another job of
 * that key start. Coordinators wake waiting workers only then, or when a job was queued again.
 * `parentId` is set when the settled job is a child: its parent may now end. Neither goes to workers.
 */
/**
 * `late`: the lease had expired, but the job had not been leased again, so the outcome counted
 * (the attempt's history says so). `stale`: it did not count (the job ran again, was canceled,
 * or already reported).
 */
export type CompleteAnswer = { id: string; status: 'ok'; state: JobState; freesSlot?: true; parentId?: string; late?: true } | { id: string; status: 'stale' };

export interface LogChunk {
  /** `stdout`, `stderr` or `drover` (the worker's own lines). */
  stream: string;
  text: string;
  /** Epoch ms when the worker read it. */
  ts?: number;
}
export interface StoredLogChunk extends Required<LogChunk> {
  seq: number;
}

export interface WorkerInfo {
  name: string;
  host: string;
  kinds: string[];
  /** Its templates, with their params and defaults when the worker sends them. */
  templates: TemplateInfo[];
  slots: number;
  running: number;
  version: string;
  /** The names of its destinations (`worker.destinations`); absent from workers older than that. */
  destinations?: string[];
  /** Its node (`worker.segments.node`): it also runs the jobs for this node. */
  node?: string;
  /** Where its segment server answers (`worker.segments.listen`, as peers reach it), with the channels it holds. */
  segments?: { url: string; channels: string[] };
  /** The queues it leases from, as its last lease request named them (empty: every queue). */
  queues?: string[];
  /** It said it stopped (a clean shutdown): offline at once, until it leases again. */
  stopped?: boolean;
}
export interface WorkerRecord extends WorkerInfo {
  lastSeen: number;
  firstSeen: number;
}

/** A worker's segment server as the coordinator lists it (`GET /segment-nodes`). */
export interface SegmentNode {
  node: string;
  url: string;
  channels: string[];
}

/** A worker as `GET /workers` shows it: its record, whether it is alive, and what it holds now. */
export interface WorkerView extends WorkerRecord {
  /** It talked to a coordinator within the lease TTL. */
  online: boolean;
  /** Running jobs it holds a lease on (not what it last said). */
  running: number;
}

/** What a worker tells the coordinator about a template in its config. */
export interface TemplateSummary {
  name: string;
  kind: string;
  /** Params the template needs (placeholders without a default). */
  required: string[];
  secrets: string[];
}

/** A param's type, default and pattern, as a template declares it. */
export interface ParamSpec {
  /**
   * Default `string`; `name` for a placeholder used in a file path (an argv or env value with a
   * `/` that is not a URL, or `cwd`), so a value from outside cannot climb out of the outdir.
   */
  type: ParamType;
  default?: string | number | boolean;
  pattern?: string;
  description?: string;
}

/** What the coordinator knows of a template to validate and shape jobs (advertised by workers). */
export interface TemplateInfo extends TemplateSummary {
  params: Record<string, ParamSpec>;
  concurrency: { key: string; limit: number } | null;
  timeLimitMs: number | null;
  maxAttempts: number | null;
  backoffMs: number | null;
}
