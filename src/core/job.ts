/**
 * The job model. Glossary:
 * - job: one unit of work with parameters, run by a worker through the runner of its kind.
 * - kind: the runner that executes a job (`noop`, `exec`, `download`, `ffmpeg`).
 * - kind module: everything Drover knows of a kind in one place (src/runners/<kind>/index.ts):
 *   its enqueue check, secret params, default time limit, worker settings and runner.
 * - template: a named command (argv with `{param}` placeholders) from the worker's config;
 *   a job of kind `exec` names one and carries only its parameters.
 * - destination: a named directory of a worker's config (`archive: /mnt/archive`) below which a
 *   job may deliver files (`dest: archive:videos`); a job never names a path of its own.
 * - manager: FF WRAPPER's watch over a running ffmpeg (hung, stalled, fps and speed below their
 *   floors), which stops a failing stream.
 * - attempt: one run of a job on a worker, from lease to outcome.
 * - lease: a worker's time-limited claim on a running job, renewed by heartbeats and fenced
 *   by a random token: only the holder of the current token may report progress or an outcome.
 * - concurrency key: a string (e.g. an NVR address); at most `concurrencyLimit` jobs that share
 *   it run at once.
 * - parent, children: a running job may end its attempt by handing its work to child jobs
 *   (`RunResult.children`); it then waits in `awaiting_children`, holding no worker, and ends
 *   when they have: `succeeded` when all did, else `failed` naming those that did not.
 */

/**
 * Every state a job can be in. `waiting` is not due yet (scheduled or backing off);
 * `awaiting_children` ran and handed its work to child jobs: it holds no worker and ends when
 * they all have.
 */
export const JOB_STATES = ['waiting', 'queued', 'running', 'awaiting_children', 'succeeded', 'failed', 'timed_out', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'timed_out', 'canceled'];
export const ACTIVE_STATES: readonly JobState[] = ['waiting', 'queued', 'running', 'awaiting_children'];

export function isJobState(s: string): s is JobState {
  return (JOB_STATES as readonly string[]).includes(s);
}
/** Counts per state from (queue, state, n) rows, every state present (0 when none). */
export function byQueue(rows: ReadonlyArray<{ queue: string; state: JobState; n: number | string }>): Record<string, Record<JobState, number>> {
  const out: Record<string, Record<JobState, number>> = {};
  for (const r of rows) {
    out[r.queue] ??= zeroCounts();
    out[r.queue]![r.state] = Number(r.n);
  }
  return out;
}

/** Rows of (state, n) as jobs per state, every state present. */
export function byState(rows: ReadonlyArray<{ state: JobState; n: number | string }>): Record<JobState, number> {
  const out = zeroCounts();
  for (const r of rows) out[r.state] = Number(r.n);
  return out;
}

function zeroCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
}

/** The final states among `states` (all of them when none are given): what may be deleted. */
export function finalOnly(states?: readonly JobState[]): JobState[] {
  return FINAL_STATES.filter((s) => states === undefined || states.includes(s));
}

export function isFinalState(s: JobState): boolean {
  return FINAL_STATES.includes(s);
}

/** A parameter value as carried by a job: scalars only, so every value has one text form. */
export type ParamValue = string | number | boolean;
export type Params = Record<string, ParamValue>;

/** Live progress reported by a runner. Every field is optional; runners add their own. */
export interface Progress {
  /** Bytes done so far. */
  bytes?: number;
  /** Bytes in all, when known. */
  total?: number;
  /** Current rate in bytes per second. */
  speed?: number;
  /** Seconds left, when it can be estimated. */
  eta?: number;
  /** 0..100 */
  percent?: number;
  /** Free text, e.g. the last line of output. */
  message?: string;
  [key: string]: unknown;
}

/** The outcome a worker reports for an attempt. */
export type Outcome = 'succeeded' | 'failed' | 'timed_out' | 'canceled';

/** Why a worker was told to stop a job it holds. */
export type StopReason = 'canceled' | 'timed_out';

export interface Lease {
  worker: string;
  token: string;
  /** Epoch milliseconds after which the lease is void unless renewed. */
  expiresAt: number;
}

export interface Job {
  id: string;
  queue: string;
  kind: string;
  /** Template name for template-based kinds, else null. */
  template: string | null;
  /** Parameters; secret ones are `***` except in a lease handed to a worker. */
  params: Params;
  /** Names of params that are secret (shown as `***` everywhere but to the worker). */
  secrets: string[];
  owner: string | null;
  tags: string[];
  /** Higher runs first. Default 0. */
  priority: number;
  state: JobState;
  /** Epoch ms: when the job becomes due. */
  runAt: number;
  /** Attempts started so far (1 while the first attempt runs). */
  attempt: number;
  /** Attempts allowed in all. Default 3. */
  maxAttempts: number;
  /** Base of the exponential backoff between attempts, ms. Default 5000. */
  backoffMs: number;
  /** Cap on the backoff, ms. Default 600000 (10 min). */
  backoffMaxMs: number;
  /** Time limit of one attempt in ms, or null for none. */
  timeLimitMs: number | null;
  concurrencyKey: string | null;
  concurrencyLimit: number | null;
  /** Only the worker of this node runs it (`worker.segments.node`); null: any worker. */
  node: string | null;
  /** The job whose attempt created this one (fan-out), or null. */
  parentId: string | null;
  lease: Lease | null;
  /** Set while a running job has been asked to stop and the worker has not yet confirmed. */
  stopReason: StopReason | null;
  progress: Progress | null;
  result: unknown;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/**
 * What a worker receives of a job it leased: what it needs to run it, none of the coordinator's
 * bookkeeping (state, backoff, key limits, timestamps). About half the bytes of a Job on the wire.
 */
export type LeasedJob = Pick<Job, 'id' | 'queue' | 'kind' | 'template' | 'params' | 'secrets' | 'owner' | 'tags' | 'priority' | 'attempt' | 'maxAttempts' | 'timeLimitMs' | 'createdAt'> & {
  /** Set on a child job (absent otherwise). */
  parentId?: string;
  lease: Lease;
};

/** The leased view of a running job; throws if it holds no lease. */
export function toLeasedJob(j: Job): LeasedJob {
  if (!j.lease) throw new Error(`job ${j.id} holds no lease`);
  return {
    id: j.id,
    queue: j.queue,
    kind: j.kind,
    template: j.template,
    params: j.params,
    secrets: j.secrets,
    owner: j.owner,
    tags: j.tags,
    priority: j.priority,
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    timeLimitMs: j.timeLimitMs,
    createdAt: j.createdAt,
    ...(j.parentId !== null ? { parentId: j.parentId } : {}),
    lease: j.lease,
  };
}

export interface Attempt {
  jobId: string;
  attempt: number;
  worker: string;
  startedAt: number;
  endedAt: number | null;
  /** Outcome; `lost` when the lease expired; `released` when the worker gave it back; null while it runs. */
  outcome: Outcome | 'lost' | 'released' | null;
  error: string | null;
}

/** What a client submits to create a job. Missing fields take the defaults documented on Job. */
export interface NewJob {
  queue?: string;
  kind: string;
  template?: string | null;
  params?: Params;
  secrets?: string[];
  owner?: string | null;
  tags?: string[];
  priority?: number;
  /** Epoch ms; in the future makes the job `waiting`. */
  runAt?: number;
  maxAttempts?: number;
  backoffMs?: number;
  backoffMaxMs?: number;
  timeLimitMs?: number | null;
  concurrencyKey?: string | null;
  concurrencyLimit?: number | null;
  node?: string | null;
}

export const JOB_DEFAULTS = {
  queue: 'default',
  priority: 0,
  maxAttempts: 3,
  backoffMs: 5_000,
  backoffMaxMs: 600_000,
} as const;

export const REDACTED = '***';

/** A copy of the job with its secret params replaced by `***`. */
export function redactJob(job: Job): Job {
  if (job.secrets.length === 0) return job;
  const params: Params = { ...job.params };
  for (const name of job.secrets) if (name in params) params[name] = REDACTED;
  return { ...job, params };
}

/** `p` with each secret value hidden in its text fields (a runner's message may quote a command line). */
export function redactProgress(p: Progress, secretValues: readonly string[]): Progress {
  if (secretValues.length === 0) return p;
  let out: Progress | null = null;
  for (const [k, v] of Object.entries(p)) {
    if (typeof v !== 'string') continue;
    const clean = redactText(v, secretValues);
    if (clean !== v) (out ??= { ...p })[k] = clean;
  }
  return out ?? p;
}

/** Below this length a secret is hidden only where it stands as a token of its own, not inside other words. */
export const SHORT_SECRET = 4;

/** Per short secret value, the pattern of its whole-token occurrences. */
const shortSecretPatterns = new Map<string, RegExp>();

/**
 * Replaces each secret value in `text` with `***`. A value of 4 characters or more goes wherever
 * it occurs; a shorter one only where it stands as a token, with no letter or digit right before
 * or after it: `--password=x`, `admin:ab@cam`, but not the `x` of `/srv/exports`, which a
 * substring rule would turn into `/srv/e***ports`.
 */
export function redactText(text: string, secretValues: readonly string[]): string {
  let out = text;
  for (const v of secretValues) {
    if (v.length === 0 || !out.includes(v)) continue;
    if (v.length >= SHORT_SECRET) {
      out = out.split(v).join(REDACTED);
      continue;
    }
    let re = shortSecretPatterns.get(v);
    if (!re) {
      re = new RegExp(`(?<![\\p{L}\\p{N}])${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'gu');
      if (shortSecretPatterns.size > 1000) shortSecretPatterns.clear();
      shortSecretPatterns.set(v, re);
    }
    out = out.replace(re, REDACTED);
  }
  return out;
}

/** The text forms of a job's secret param values, longest first so overlaps redact whole. */
export function secretValuesOf(params: Params, secrets: readonly string[]): string[] {
  return secrets
    .map((n) => params[n])
    .filter((v): v is ParamValue => v !== undefined)
    .map(String)
    .filter((v) => v.length > 0)
    .sort((a, b) => b.length - a.length);
}
