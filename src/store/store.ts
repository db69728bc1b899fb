import type { KeyedEnqueue, KeyedEnqueueResult } from './enqueue-keys.js';
import type { Attempt, Job, JobState, NewJob, StopReason } from '../core/job.js';
import type { CountFilter, JobPage, ListFilter } from '../core/job-filter.js';
import type { CompleteAnswer, CompleteItem, HeartbeatAnswer, HeartbeatItem, LogChunk, StoredLogChunk, WorkerInfo, WorkerRecord } from '../core/reports.js';
import type { Schedule } from '../core/schedule.js';
import type { TokenInfo } from '../core/access-token.js';
import type { ScheduleAdvance } from './schedule-rows.js';

/**
 * The one interface every storage backend implements. Each method takes one parameters object
 * and the current time (`now`, epoch ms) from the caller, so the store has no clock of its own.
 * Rows come back unredacted: redaction is the API layer's job. Secret params arrive sealed by the
 * coordinator (coordinator/secret-params.ts) and are kept as given: the store never sees their
 * plaintext and does no crypto.
 * Backends map their driver errors to the errors of `core/errors.ts`.
 */
export interface JobStore {
  /** Creates all jobs or none. Returned in input order. */
  enqueue(p: { jobs: ResolvedNewJob[]; now: number }): Promise<Job[]>;
  /** As enqueue, under idempotency keys: all or none, keys and jobs together (see KeyedEnqueue). */
  enqueueKeyed(p: KeyedEnqueue): Promise<KeyedEnqueueResult>;
  /**
   * Gives back the space the store holds for itself, if it can (SQLite: the WAL file, truncated
   * after a checkpoint). Called when a write failed for want of space.
   */
  checkpoint?(): Promise<void>;
  /**
   * Where counts are kept as deltas (PostgreSQL: store/postgres/counters.ts), folds them into the
   * totals and returns how many it folded; maintenance calls it on every tick it leads.
   */
  foldCounts?(): Promise<number>;
  /** Forgets the enqueue keys made before `before` (epoch ms); returns how many. */
  pruneEnqueueKeys(p: { before: number }): Promise<number>;
  get(id: string): Promise<Job | null>;
  list(p: ListFilter): Promise<JobPage>;
  /** Number of jobs per state among those matching the filter. */
  counts(p: CountFilter): Promise<Record<JobState, number>>;
  /** Jobs per queue and state, for the queues that have any. */
  countsByQueue(p: CountFilter): Promise<Record<string, Record<JobState, number>>>;
  /** Jobs per owner and state, for the owners that have any; jobs without an owner under "". */
  countsByOwner(p: CountFilter): Promise<Record<string, Record<JobState, number>>>;
  /**
   * Jobs that ended (a final state) at or after `since`, counted per state in buckets of
   * `bucketMs`, each named by its start (a multiple of `bucketMs`, epoch ms). Buckets with none are left out.
   */
  finishedPerBucket(p: { since: number; bucketMs: number }): Promise<FinishedBucketRow[]>;
  /**
   * Cancels a job: waiting/queued → canceled at once; running → `stopReason = canceled` and the
   * holder is told to stop; a parent awaiting its children → canceled at once, and each of its
   * children not ended yet canceled the same way, theirs too. A final job is a ConflictError.
   */
  cancel(p: { id: string; now: number }): Promise<Job>;
  /**
   * Puts a failed, timed-out or canceled job back in the queue with one more attempt allowed.
   * A parent is not run again: its children that did not succeed are retried (theirs too) and
   * it waits for them again in `awaiting_children`.
   */
  retry(p: { id: string; now: number }): Promise<Job>;

  /** Claims up to `limit` due jobs the worker can run, honouring priorities and key limits. */
  claim(p: ClaimParams): Promise<Job[]>;
  /** Renews leases and stores progress. One answer per item, in order. */
  heartbeat(p: { worker: string; items: HeartbeatItem[]; leaseMs: number; now: number }): Promise<HeartbeatAnswer[]>;
  /**
   * Records outcomes, each fenced by its lease token. One answer per item, in order. A success
   * with children creates them (parent set) and sends the job to `awaiting_children`, in the
   * same transaction; the answer of a child's outcome carries its `parentId`.
   */
  complete(p: { items: SettleItem[]; now: number; random?: () => number }): Promise<CompleteAnswer[]>;
  /**
   * Ends the parents (`awaiting_children`) whose children have all ended: `succeeded` when all
   * did, else `failed` naming those that did not (see settleParent). Only those in `ids` when
   * given. Returns the parents it ended. Safe to call any time, from any coordinator.
   */
  settleParents(p: { ids?: string[]; now: number }): Promise<Job[]>;
  /** Running jobs held by `worker` that it has been asked to stop. */
  stopsFor(p: { worker: string }): Promise<Array<{ id: string; reason: StopReason }>>;

  appendLog(p: { jobId: string; chunks: LogChunk[]; now: number }): Promise<void>;
  /** Log chunks with seq > `after`, oldest first. */
  readLog(p: { jobId: string; after: number; limit: number }): Promise<StoredLogChunk[]>;
  attempts(p: { jobId: string }): Promise<Attempt[]>;

  /** Moves due `waiting` jobs to `queued`. Returns how many moved. */
  promoteDue(p: { now: number }): Promise<number>;
  /** Earliest run_at among waiting jobs, or null. */
  nextDueAt(): Promise<number | null>;
  /**
   * Expired leases: a job asked to stop ends in its stop reason; otherwise it goes back to
   * `queued` (attempt counted as lost) or to `failed` when no attempts are left.
   */
  reapExpiredLeases(p: { now: number }): Promise<Job[]>;
  /** Running jobs past their deadline get `stopReason = timed_out`. Returns those newly marked. */
  markTimedOut(p: { now: number }): Promise<Job[]>;

  /** Records what a worker is (its lease requests): kinds, templates, slots. */
  upsertWorker(p: { worker: WorkerInfo; now: number }): Promise<void>;
  /** A worker's heartbeat: it is alive now with `running` jobs. A worker not registered yet is left out. */
  touchWorker(p: { name: string; running: number; now: number }): Promise<void>;
  listWorkers(): Promise<WorkerRecord[]>;
  /** Per worker, the running jobs it holds a lease on. Workers holding none are left out. */
  runningByWorker(): Promise<Record<string, number>>;
  /** Deletes the registry rows of workers last seen before `before` (epoch ms); returns how many went. */
  deleteWorkers(p: { before: number }): Promise<number>;

  /**
   * Creates or replaces a schedule (by name). With `keepRun`, an existing one keeps its next
   * run, last run and last job, so a firing elsewhere meanwhile is not undone.
   */
  putSchedule(s: Schedule, o?: { keepRun?: boolean }): Promise<void>;
  getSchedule(name: string): Promise<Schedule | null>;
  /** Every schedule, by name. */
  listSchedules(): Promise<Schedule[]>;
  /** Whether there was one. */
  deleteSchedule(name: string): Promise<boolean>;
  /** Records a firing if the schedule is still due at `from` and not paused; false when another coordinator fired it, or it changed. */
  advanceSchedule(p: ScheduleAdvance): Promise<boolean>;

  /**
   * Copies jobs as they are (state, lease, progress, timestamps) and their past attempts into
   * this store, for `drover migrate-store`. Jobs already here (same id) are left alone.
   * Returns how many were added.
   */
  importJobs(p: { jobs: Job[]; attempts: Attempt[] }): Promise<number>;

  /**
   * Jobs that have secret params, ascending by id after `after` (null: from the first), at most
   * `limit`: each one's id, params (as stored: sealed or, from before, plaintext) and secret
   * names. `drover secrets rotate` pages through them.
   */
  jobsWithSecrets(p: { after: string | null; limit: number }): Promise<JobSecrets[]>;
  /**
   * Replaces the params of these jobs and nothing else of them (not `updatedAt` either: the job
   * did not change for its users), in one transaction. Returns how many of them were found.
   */
  updateParams(p: { jobs: Array<Pick<Job, 'id' | 'params'>> }): Promise<number>;

  /**
   * Adds an access token (`drover token add`), its hash as the coordinator made it (the store
   * hashes nothing). A ConflictError when its name is taken.
   */
  addToken(t: StoredToken): Promise<void>;
  /** The token with this id (its non-secret first characters), or null. */
  tokenById(id: string): Promise<StoredToken | null>;
  /** Every token, by name. */
  listTokens(): Promise<StoredToken[]>;
  /** Deletes the token named `name`; returns what it was, or null when there was none. */
  deleteToken(name: string): Promise<StoredToken | null>;
  /** Records a use of the token at `now` (never moving it back). */
  touchToken(p: { id: string; now: number }): Promise<void>;
  /**
   * Takes back every lease `worker` holds (its token was revoked), in one transaction: a job
   * asked to stop ends in its stop reason; every other goes back to `queued` at once, the attempt
   * not counted (recorded as lost). Returns those jobs as they are now.
   */
  revokeLeases(p: { worker: string; now: number }): Promise<Job[]>;

  /** Pauses `queue` (its jobs are leased to no one; those running go on) or resumes it. Pausing twice keeps the first time. */
  setQueuePaused(p: { queue: string; paused: boolean; now: number }): Promise<void>;
  /** The paused queues and since when (epoch ms), by name. */
  pausedQueues(): Promise<Array<{ queue: string; pausedAt: number }>>;

  /**
   * Deletes up to `limit` jobs that finished before `before` (epoch ms), with their logs and
   * attempts; only those in `states` when given (final states only: others are never deleted).
   * Returns how many went; call again while it returns `limit`.
   */
  deleteFinished(p: { before: number; limit: number; states?: JobState[] }): Promise<number>;

  /**
   * Builds (`on`) or drops the text search index that makes `q` fast on large stores (see
   * `server.search_index`); nothing when it is already as asked. Without it, `q` reads every
   * job's text. A search finds the same jobs either way.
   */
  setSearchIndex(p: { on: boolean }): Promise<SearchIndexChange>;

  /**
   * On a shared store: whether this process leads maintenance now (taking the lead when it is
   * free). The lead is held by a connection, so it passes on within seconds when its holder dies.
   * Absent on a store only one coordinator uses.
   */
  tryLead?(): Promise<boolean>;

  /**
   * Whether several coordinators may share this store. A shared store's changes can come from
   * elsewhere, so a coordinator must hear of them (`subscribe`) or poll.
   */
  readonly shared: boolean;
  /**
   * Tells `events` about work and stop requests coming from any coordinator on this store, where
   * the backend can (PostgreSQL LISTEN/NOTIFY). Absent: the coordinator polls.
   */
  subscribe?(events: StoreEvents): Promise<Subscription>;

  close(): Promise<void>;
}

export interface StoreEvents {
  /** Up to `jobs` (undefined: an unknown number) may have become claimable (enqueued, retried, released, promoted, requeued, key freed). */
  work(jobs?: number): void;
  /** A running job held by `worker` was asked to stop. */
  stop(worker: string): void;
}

export interface Subscription {
  /** False while the channel is down (the coordinator polls meanwhile). */
  healthy(): boolean;
  close(): Promise<void>;
}

/** What `setSearchIndex` did: built it over `jobs` jobs, dropped it, or nothing (`null`). */
export interface SearchIndexChange {
  change: 'built' | 'dropped' | null;
  jobs: number;
}

/** One row of `finishedPerBucket`. */
export interface FinishedBucketRow {
  at: number;
  state: JobState;
  n: number;
}

/** An access token as the store keeps it: its SHA-256 (hex), never the token. */
export interface StoredToken extends TokenInfo {
  hash: string;
}

/** What `jobsWithSecrets` gives of a job. */
export type JobSecrets = Pick<Job, 'id' | 'params' | 'secrets'>;

/** A NewJob after the coordinator filled defaults and validated it. */
export interface ResolvedNewJob extends Required<Omit<NewJob, 'runAt'>> {
  id: string;
  runAt: number;
  /** The job whose attempt made this one, or null. */
  parentId: string | null;
}

/** An outcome as a store settles it: the worker's report, its children checked by the coordinator. */
export interface SettleItem extends Omit<CompleteItem, 'children'> {
  children?: ResolvedNewJob[];
}

export interface ClaimParams {
  worker: string;
  /** Kinds the worker runs for jobs without a template. */
  kinds: string[];
  /** Templates the worker has in its own config. */
  templates: string[];
  /** Queues to take from; empty means all. */
  queues: string[];
  /** The worker's node: it also takes the jobs for this node. Null: only jobs for any node. */
  node?: string | null;
  limit: number;
  leaseMs: number;
  now: number;
}

