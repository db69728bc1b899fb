import type { CountFilter, JobPage, ListFilter } from '../core/job-filter.js';
import type { Schedule } from '../core/schedule.js';
import type { Attempt, Job, JobState, LeasedJob, Params, StopReason } from '../core/job.js';
import type { CompleteAnswer, CompleteItem, HeartbeatAnswer, HeartbeatItem, LogChunk, StoredLogChunk, SegmentNode, TemplateInfo, WorkerInfo, WorkerView } from '../core/reports.js';

export type { CountFilter, JobPage, ListFilter };

/**
 * A job as a client submits it (`POST /api/v1/jobs`, one or `{"jobs": [...]}`). Give a `kind`,
 * a `template` (its kind is implied), or both. Missing fields take the template's values, then
 * the defaults: queue `default`, priority 0, 3 attempts, backoff 5s, no time limit (30m for
 * downloads). A bad field is a 400 naming it.
 */
export interface JobSpec {
  kind?: string;
  template?: string;
  params?: Params;
  /** More params to show as `***`. */
  secrets?: string[];
  owner?: string | null;
  /** Default `default`. */
  queue?: string;
  tags?: string[];
  /** Higher runs first. Default 0. */
  priority?: number;
  /** Not before this: an ISO 8601 time, epoch ms, or a Date. */
  runAt?: string | number | Date;
  /** Default 3, or the template's. */
  maxAttempts?: number;
  /** Base of the exponential backoff: "30s", or seconds. Default 5s. */
  backoff?: string | number;
  /** Of one attempt: "2h", or seconds. */
  timeLimit?: string | number | null;
  /** At most `concurrencyLimit` running jobs share this key (e.g. an NVR's address). */
  concurrencyKey?: string | null;
  concurrencyLimit?: number | null;
  /** Only the worker of this node runs it (`worker.segments.node`), e.g. a mirror into that node's tree. */
  node?: string | null;
  /**
   * Its idempotency key: a job enqueued under the same key within 24 h is answered in its
   * place, and no new one is made (e.g. `cam-12-2026-12-01`).
   */
  key?: string;
  /**
   * At most one such job at a time: while a job of the same template (or kind) made under this
   * key has not ended, it is answered in this one's place. Placeholders from the params:
   * `"{server}-{day}"`. Secret params cannot be part of it.
   */
  unique?: string;
}

/** Every field a JobSpec may have; anything else is refused. */
export const JOB_SPEC_FIELDS: ReadonlySet<string> = new Set(['kind', 'template', 'params', 'secrets', 'owner', 'queue', 'tags', 'priority', 'runAt', 'maxAttempts', 'backoff', 'timeLimit', 'concurrencyKey', 'concurrencyLimit', 'node', 'key', 'unique']);

export interface EnqueueAnswer {
  jobs: Job[];
  /** What no online worker can run yet (the jobs are created all the same): `no online worker offers template "ghost"`. */
  warnings?: string[];
}
export interface EnqueueIdsAnswer {
  ids: string[];
  warnings?: string[];
}
export interface DryRunAnswer {
  valid: number;
}
/** A page of jobs; `waiting` says, by id, why a queued job no online worker can run waits. */
export interface ListAnswer extends JobPage {
  waiting?: Record<string, string>;
}
export interface CountsAnswer {
  counts: Record<JobState, number>;
}
/** `GET /jobs/{id}`: the job and its attempts, oldest first. */
export interface JobDetail {
  job: Job;
  attempts: Attempt[];
  /** Why it waits, when it is queued or waiting and no online worker can run it. */
  waiting?: string;
}
export interface JobAnswer {
  job: Job;
}
/** `GET /jobs/{id}/logs`: chunks after `after`; `next` is the `after` of the next call. */
export interface LogsAnswer {
  chunks: StoredLogChunk[];
  next: number;
  state: JobState;
}
export interface WorkersAnswer {
  workers: WorkerView[];
}
/** `GET /stats`: the jobs per state, per queue and finished in the last hour; the workers. */
/** A schedule as the API shows it: its definition, its next and last run, and its last job's state. */
export interface ScheduleAnswer {
  schedule: ScheduleView;
}
export interface SchedulesAnswer {
  schedules: ScheduleView[];
}
/** A schedule with the state of the job it enqueued last. */
export interface ScheduleView extends Schedule {
  lastJobState: JobState | null;
}

/** `GET /segment-nodes`: the online workers with a segment server. */
export interface SegmentNodesAnswer {
  nodes: SegmentNode[];
}

export interface StatsAnswer {
  counts: Record<JobState, number>;
  queues: Record<string, Record<JobState, number>>;
  /** Per owner (jobs without one under ""): the 50 owners with the most jobs. */
  owners: Record<string, Record<JobState, number>>;
  /** Jobs that finished in the hour before the answer, per final state. */
  lastHour: Record<JobState, number>;
  workers: { online: number; offline: number; slots: number; running: number };
}
/** `POST /jobs/purge`: deletes finished jobs (with their logs) that finished before `before`. */
export interface PurgeRequest {
  /** Final states to delete; default all four. */
  states?: JobState[];
  /** Epoch ms: only jobs finished before it. */
  before: number;
}
export interface PurgeAnswer {
  deleted: number;
}
export interface PruneAnswer {
  /** Workers forgotten: gone longer than the worker retention. */
  deleted: number;
}
export interface TemplatesAnswer {
  templates: TemplateInfo[];
}
export interface KindsAnswer {
  kinds: string[];
  /** Per built-in kind, the params a job of it may have without a template (kinds that check them). */
  params: Record<string, string[]>;
}
export interface HealthAnswer {
  ok: boolean;
  version: string;
  /** A SQLite coordinator's disk: its free space against the reserve. */
  storage?: { dir: string; freeBytes: number; reserveBytes: number; state: 'ok' | 'low' };
}
/** Every error: 400 (with the field), 401, 404, 409, 413, 415, 503. */
export interface ErrorAnswer {
  error: { code: string; message: string; field?: string };
}

/** `POST /lease`: what the worker is (its templates travel here), and how many jobs it takes. */
export interface LeaseRequest {
  worker: WorkerInfo;
  /** Empty: all queues. */
  queues: string[];
  /** Free slots, 0 to 10,000. Default 1. */
  limit: number;
  /** Long poll, ms; capped by the coordinator's `long_poll`. */
  wait: number;
}
export interface LeaseAnswer {
  jobs: LeasedJob[];
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
}
/** What a heartbeat says of the worker: who it is, and how busy. */
export interface WorkerPulse {
  name: string;
  running: number;
  /** The worker's whole description, sent once when it changed (a reload on SIGHUP). */
  info?: WorkerInfo;
}
export interface HeartbeatRequest {
  worker: WorkerPulse;
  jobs: HeartbeatItem[];
}
export interface HeartbeatReply {
  answers: HeartbeatAnswer[];
  leaseTtlMs: number;
}
export interface CompleteRequest {
  items: CompleteItem[];
  /**
   * A lease to take right after, as `POST /lease` would: a worker that finished a job reports it
   * and takes the next in one request (half the requests per job of a busy worker).
   */
  next?: LeaseRequest;
}
export interface CompleteReply {
  answers: CompleteAnswer[];
  /** The lease's answer when the request asked for `next`. */
  next?: LeaseAnswer;
}
/** `POST /jobs/{id}/complete` and `/fail`. */
export interface SingleCompleteAnswer {
  state: JobState;
}
export interface AppendLogsRequest {
  /** The lease token of the job: only the worker holding it may add to its log. */
  token: string;
  chunks: LogChunk[];
}
export interface StopOrder {
  id: string;
  reason: StopReason;
}
export interface StopsAnswer {
  stops: StopOrder[];
}

/** A queue as `GET /api/v1/queues` shows it: its jobs per state, and whether it is paused. */
export interface QueueView {
  name: string;
  paused: boolean;
  /** Epoch ms; null when not paused. */
  pausedAt: number | null;
  counts: Partial<Record<JobState, number>>;
}

/** `GET /stats/finished?window=hour|day`: jobs that ended, per bucket (a minute for an hour, 15 minutes for a day). */
export interface FinishedAnswer {
  bucketMs: number;
  /** The first bucket's start, epoch ms; buckets follow every `bucketMs` up to now, none left out. */
  since: number;
  buckets: Array<{ at: number; succeeded: number; failed: number; canceled: number; timed_out: number }>;
}

/** `POST /jobs/bulk`: cancels or retries the jobs named, or every job matching a filter. */
export interface BulkRequest {
  action: 'cancel' | 'retry';
  /** These jobs; or */
  ids?: string[];
  /** every job matching this (the list filter's fields, without paging). */
  filter?: Omit<ListFilter, 'cursor' | 'limit' | 'order' | 'sort'>;
}
export interface BulkAnswer {
  /** Jobs named or matching. */
  matched: number;
  /** Jobs canceled or queued again. */
  changed: number;
  /** Those it could not change and why (e.g. already final), at most 100. */
  failed: Array<{ id: string; error: string }>;
}

/** `POST /imports`: a table file (xlsx, csv or JSON Lines) made into jobs, one per row, as `drover import` does. */
export interface ImportRequest {
  format: 'csv' | 'xlsx' | 'jsonl';
  /** The file, base64. */
  data: string;
  /** Its name, for the jobs' `import:NAME` tag and in errors. Default "upload". */
  name?: string;
  template?: string;
  kind?: string;
  /** Fields every job gets; `params` under each row's own. */
  defaults?: { queue?: string; owner?: string; priority?: number; tags?: string[]; maxAttempts?: number; params?: Record<string, string> };
}
export interface ImportAnswer {
  rows: number;
  /** Every problem found, by row (as a person counts them: the header is row 1) and column. Nothing is created when there is one. */
  errors: Array<{ row: number | null; column: string | null; message: string }>;
  /** The ids created; empty on a dry run or with errors. */
  jobs: string[];
  /** The tag the jobs got (`import:NAME`). */
  tag: string;
}

/** `GET|POST|DELETE /session`: the dashboard's sign-in (an http-only cookie). */
export interface SessionAnswer {
  /** Whether the coordinator checks tokens; false: open (loopback without tokens). */
  authRequired: boolean;
  signedIn: boolean;
  role: 'admin' | 'read' | null;
  /** Send as `X-Drover-CSRF` with each change made under the cookie. */
  csrf: string | null;
}
