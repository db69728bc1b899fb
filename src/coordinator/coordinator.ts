import type { Clock } from '../core/clock.js';
import type { Logger } from 'pino';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { tokensEqual } from '../core/tokens.js';
import { silentLogger } from '../core/logger.js';
import type { CountFilter, JobPage, ListFilter } from '../core/job-filter.js';
import { isFinalState, redactText, secretValuesOf, type Job, type JobState } from '../core/job.js';
import type { CompleteAnswer, CompleteItem, HeartbeatAnswer, HeartbeatItem, LogChunk, TemplateInfo } from '../core/reports.js';
import type { FinishedAnswer, JobDetail, LogsAnswer, PurgeRequest, StatsAnswer, StopOrder, WorkerPulse } from '../protocol/messages.js';
import { KIND_MODULES } from '../runners/registry.js';
import type { JobStore, ResolvedNewJob, Subscription } from '../store/store.js';
import { Families } from './children.js';
import { Queues } from './queues.js';
import { JobTimings } from './job-timings.js';
import { Leasing, type LeaseParams } from './leasing.js';
import type { ServerTiming } from './server-timing.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { deleteFinishedInBatches } from './delete-finished.js';
import type { Metrics } from './metrics.js';
import { resolveNewJob } from './resolve-job.js';
import { Cached, waitReason } from './wait-reason.js';
import { WorkerRegistry } from './worker-registry.js';
import { AccessTokens } from './access-tokens.js';
import { Schedules } from './schedules.js';
import type { TemplateCatalog } from './templates.js';
import type { Template } from '../runners/template.js';
import { KeyedWakeups, Wakeup } from './wakeups.js';
import { LongPolls } from './long-polls.js';
import { PollCaps } from './poll-caps.js';
import { LiveEvents } from './live-events.js';
import { finishedPerBucket, readStats } from './overview.js';
import type { SecretBox } from '../core/secret-box.js';
import { openSpec, sealJobs, sealSpec, secretParamsForRedaction } from './secret-params.js';
import { fingerprintOf, jobKeysOf, uniqueKeysOf } from './enqueue-keys.js';
import type { DiskGuard, StorageStatus } from './disk-guard.js';

export interface CoordinatorOptions {
  store: JobStore;
  clock: Clock;
  templates: TemplateCatalog;
  metrics: Metrics;
  /** A lease not renewed within this many ms is void. Default 30000. */
  leaseTtlMs?: number;
  /** How often workers should heartbeat, ms. Default 10000. */
  heartbeatIntervalMs?: number;
  /** The longest any long poll waits, whatever a client asks, ms. Default 30000. */
  maxLongPollMs?: number;
  /** On a shared store without a working subscription, long polls look again this often, ms. Default 1000. */
  pollMs?: number;
  /** Long polls waiting at once, of every kind; more get 429. Default 5000. */
  maxLongPolls?: number;
  /** Lease and stop long polls of one worker at once; more get 429. Default 8. */
  maxLongPollsPerWorker?: number;
  /** Per kind: an attempt's time limit when the job gives none, over the kind's own default (`server.download_time_limit`). */
  kindTimeLimitsMs?: Record<string, number>;
  /** The worker list leaves out workers gone longer than this, ms. Default 1 h. */
  workerRetentionMs?: number;
  /** For what schedules do, and leases failed for secrets this coordinator cannot open. Default silent. */
  log?: Logger;
  /** Seals secret params before they reach the store, opens them for the worker holding the job (secret-params.ts). */
  secretBox: SecretBox;
  /** The free-space reserve of a SQLite database's disk (none on PostgreSQL). */
  disk?: DiskGuard;
}

/** `stats` is read again at most this often, ms. */
const STATS_EVERY_MS = 5_000;

/** At most this many jobs in one enqueue call. */
export const MAX_BATCH = 50_000;

/**
 * The coordinator's logic, between the HTTP layer and the store: validates, fills defaults,
 * wakes long-polling workers, tells workers to stop, and owns every long poll (leases, stops,
 * logs, job waits) on its clock. Knows nothing of HTTP.
 */
export class Coordinator {
  /** Recurring jobs: put, list, pause, remove; maintenance fires them. */
  readonly schedules: Schedules;
  /** Pausing and resuming queues. */
  readonly queues: Queues;
  private readonly timings: JobTimings;
  private readonly leasing: Leasing;
  /** Woken when work may be claimable; its `waiting` and `generation` are test signals. */
  readonly workAvailable = new Wakeup();
  /** The workers heard from, their kinds and templates, who is online. */
  readonly registry: WorkerRegistry;
  /** The store's access tokens (`drover token`): made, revoked, checked. */
  readonly tokens: AccessTokens;
  /** Job changes, progress and workers joining and leaving, for `GET /api/v1/events`. */
  readonly events: LiveEvents;
  private readonly stops = new KeyedWakeups();
  /** Per job: woken when its log grows, its progress or state changes. */
  private readonly jobChanged = new KeyedWakeups();
  /** Parents and the children their attempts made. */
  private readonly families: Families;
  /** The long polls of logs, job changes and stops (leases wait here, on their own wake-up). */
  private readonly polls: LongPolls;
  private readonly statsCache: Cached<StatsAnswer>;
  private subscription: Subscription | null = null;
  private readonly store: JobStore;
  private readonly clock: Clock;
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;

  constructor(private readonly o: CoordinatorOptions) {
    this.store = o.store;
    this.clock = o.clock;
    this.schedules = new Schedules({
      store: o.store,
      clock: o.clock,
      log: o.log ?? silentLogger(),
      validate: (spec) => this.validate([spec])[0]?.secrets ?? [],
      seal: (spec, name) => sealSpec(o.secretBox, spec, name),
      open: (spec, name) => openSpec(o.secretBox, spec, name),
      enqueue: async (spec) => (await this.enqueue([spec])).jobs[0] as Job,
      getJob: (id) => this.store.get(id),
    });
    this.leaseTtlMs = o.leaseTtlMs ?? SERVER_DEFAULTS.leaseTtlMs;
    this.heartbeatIntervalMs = o.heartbeatIntervalMs ?? SERVER_DEFAULTS.heartbeatIntervalMs;
    this.statsCache = new Cached(STATS_EVERY_MS, o.clock, () => readStats(this.store, () => this.registry.list(), this.clock.now()));
    this.polls = new LongPolls({
      store: o.store,
      clock: o.clock,
      maxLongPollMs: o.maxLongPollMs ?? SERVER_DEFAULTS.maxLongPollMs,
      pollMs: o.pollMs ?? SERVER_DEFAULTS.pollMs,
      jobChanged: this.jobChanged,
      stops: this.stops,
      notified: () => !this.store.shared || (this.subscription?.healthy() ?? false),
      mustGet: (id) => this.mustGet(id),
      caps: new PollCaps({
        maxTotal: o.maxLongPolls ?? SERVER_DEFAULTS.maxLongPolls,
        maxPerWorker: o.maxLongPollsPerWorker ?? SERVER_DEFAULTS.maxLongPollsPerWorker,
        onCount: (n) => o.metrics.longPolls.set(n),
        onRefused: (cap) => o.metrics.longPollsRefused.inc({ cap }),
      }),
    });
    this.families = new Families({ store: o.store, clock: o.clock, metrics: o.metrics, validate: (inputs) => this.validate(inputs), seal: (jobs) => sealJobs(o.secretBox, jobs), jobChanged: this.jobChanged, stops: this.stops });
    this.timings = new JobTimings(o.metrics, o.clock);
    this.queues = new Queues({ store: o.store, clock: o.clock, notifyWork: () => this.notifyWork() });
    this.registry = new WorkerRegistry({ store: o.store, clock: o.clock, templates: o.templates, leaseTtlMs: this.leaseTtlMs, retentionMs: o.workerRetentionMs ?? SERVER_DEFAULTS.workerRetentionMs });
    this.events = new LiveEvents({ workers: () => this.registry.list() });
    this.leasing = new Leasing({
      store: o.store,
      clock: o.clock,
      metrics: o.metrics,
      secretBox: o.secretBox,
      registry: this.registry,
      polls: this.polls,
      workAvailable: this.workAvailable,
      timings: this.timings,
      events: this.events,
      leaseTtlMs: this.leaseTtlMs,
      complete: (items) => this.complete(items),
      ...(o.log ? { log: o.log } : {}),
    });
    this.tokens = new AccessTokens({ store: o.store, clock: o.clock, notifyWork: () => this.notifyWork(), settleParents: (ids) => this.settleParents(ids) });
  }

  /** Hears of work and stops from other coordinators on a shared store, where it can. */
  async subscribe(): Promise<void> {
    if (!this.store.subscribe) return;
    try {
      this.subscription = await this.store.subscribe({ work: (jobs) => this.notifyWork(jobs), stop: (w) => this.notifyStop(w) });
    } catch {
      // No notifications (e.g. LISTEN through PgBouncer): long polls look again every pollMs.
      this.subscription = null;
    }
  }

  /** Ends every long poll now (shutdown): they answer with what they have. */
  async close(): Promise<void> {
    this.polls.close();
    this.events.close();
    this.workAvailable.notify();
    await this.subscription?.close();
  }

  /**
   * Up to `jobs` jobs (default: unknown, so every waiter) may be claimable: wakes as many waiting
   * lease requests, the longest waiting first.
   */
  notifyWork(jobs = Infinity): void {
    if (jobs > 0) this.workAvailable.notify(jobs);
  }

  /** How many long polls wait now: in all, or lease and stop polls of `worker` (a test signal). */
  longPolls(worker?: string): number {
    return this.polls.count(worker);
  }

  /** How many stop long polls of `worker` wait now (a test signal). */
  stopPolls(worker: string): number {
    return this.stops.waiting(worker);
  }

  /** `worker` holds a job it must stop: wakes its stop long poll. */
  notifyStop(worker: string): void {
    this.stops.notify(worker);
  }

  /** Checks and fills defaults without creating anything. Throws on the first bad job. */
  validate(inputs: unknown[], now = this.clock.now()): ResolvedNewJob[] {
    if (inputs.length === 0) throw new ValidationError('jobs: at least one job is required', 'jobs');
    if (inputs.length > MAX_BATCH) throw new ValidationError(`jobs: at most ${MAX_BATCH} jobs per request`, 'jobs');
    const ctx = { templates: this.o.templates, kinds: this.registry.kinds, now, timeLimits: this.o.kindTimeLimitsMs ?? {} };
    return inputs.map((j, i) => resolveNewJob(j, ctx, inputs.length > 1 ? `jobs[${i}].` : ''));
  }

  /**
   * Creates the jobs; `warnings` say what no online worker can run yet (accepted all the same).
   * `idempotencyKey` (the Idempotency-Key header) and each job's `key`: see store/enqueue-keys.ts;
   * `replayed`: the key was seen before, and the jobs are the ones it made then. `timing` gets
   * `check` (the jobs checked, secrets sealed) and `store` (the store creating them), ms.
   */
  async enqueue(inputs: unknown[], o: { idempotencyKey?: string; timing?: ServerTiming } = {}): Promise<{ jobs: Job[]; warnings: string[]; replayed: boolean }> {
    const began = performance.now();
    this.o.disk?.assertRoomForJobs();
    const now = this.clock.now();
    const jobKeys = jobKeysOf(inputs);
    const plain = this.validate(inputs, now);
    const uniqueKeys = uniqueKeysOf(inputs, plain);
    const resolved = sealJobs(this.o.secretBox, plain);
    let jobs: Job[];
    let made: Job[];
    let replayed = false;
    const stored = performance.now();
    o.timing?.add('check', stored - began);
    if (o.idempotencyKey === undefined && jobKeys === null && uniqueKeys === null) made = jobs = await this.store.enqueue({ jobs: resolved, now });
    else {
      const r = await this.store.enqueueKeyed({ jobs: resolved, now, ...(o.idempotencyKey !== undefined ? { request: { key: o.idempotencyKey, fingerprint: fingerprintOf(inputs) } } : {}), ...(jobKeys ? { jobKeys } : {}), ...(uniqueKeys ? { uniqueKeys } : {}) });
      jobs = r.jobs;
      made = r.jobs.filter((_, i) => r.created[i]);
      replayed = r.replayed;
    }
    o.timing?.add('store', performance.now() - stored);
    this.o.metrics.enqueued.inc(made.length);
    this.events.jobs(made);
    const waiting = this.workAvailable.waiting > 0;
    this.notifyWork(made.filter((j) => j.state === 'queued').length);
    // The lease requests just woken claim and answer before this answer is built and sent: an
    // idle worker's job starts 0.1–0.2 ms sooner (enqueue→start p50 0.88–1.07 → 0.71–0.86 ms).
    if (waiting) await new Promise((resolve) => setImmediate(resolve));
    return { jobs, warnings: [...new Set(Object.values(await this.waitReasons(jobs)))], replayed };
  }

  /** Why each of these queued or waiting jobs cannot start on any online worker, by id (jobs that can are left out). */
  async waitReasons(jobs: readonly Job[]): Promise<Record<string, string>> {
    const pending = jobs.filter((j) => j.state === 'queued' || j.state === 'waiting');
    if (pending.length === 0) return {};
    const [online, paused] = await Promise.all([this.registry.online.get(), this.queues.paused.get()]);
    return Object.fromEntries(pending.flatMap((j) => {
      const why = waitReason(j, online, paused);
      return why === null ? [] : [[j.id, why]];
    }));
  }

  async cancel(id: string): Promise<Job> {
    const job = await this.store.cancel({ id, now: this.clock.now() });
    if (job.state === 'running' && job.lease) this.stops.notify(job.lease.worker);
    await this.families.canceled(job);
    this.events.jobs([job]);
    this.jobChanged.notify(id);
    if (isFinalState(job.state) && job.parentId) await this.settleParents([job.parentId]);
    return job;
  }

  /** Queues a job again; a parent retries its children that did not succeed, a child makes its ended parent wait again. */
  async retry(id: string): Promise<Job> {
    let job = await this.store.retry({ id, now: this.clock.now() });
    this.events.jobs([job]);
    this.workAvailable.notify();
    this.jobChanged.notify(id);
    if (job.parentId) this.jobChanged.notify(job.parentId);
    // A parent with nothing left to retry ends at once.
    if (job.state === 'awaiting_children') job = (await this.settleParents([id]))[0] ?? job;
    return job;
  }

  async mustGet(id: string): Promise<Job> {
    const job = await this.store.get(id);
    if (!job) throw new NotFoundError(`no job ${id}`);
    return job;
  }

  /** A job and its attempts. */
  async detail(id: string): Promise<JobDetail> {
    const job = await this.mustGet(id);
    return { job, attempts: await this.store.attempts({ jobId: id }) };
  }

  list(filter: ListFilter): Promise<JobPage> {
    return this.store.list(filter);
  }

  counts(filter: CountFilter): Promise<Record<JobState, number>> {
    return this.store.counts(filter);
  }

  /**
   * Jobs per state, per queue, per owner and finished in the last hour; the workers online and
   * their slots. Read at most every 5 s, however many dashboards ask (the counts are kept, the
   * finished ones are read from an index).
   */
  stats(): Promise<StatsAnswer> {
    return this.statsCache.get();
  }

  /** Jobs that ended per minute over the last hour, or per quarter hour over the last day. */
  finished(window: string | undefined): Promise<FinishedAnswer> {
    return finishedPerBucket(this.store, window, this.clock.now());
  }

  /** Deletes the jobs in `states` (final ones; default all) that finished before `before`, with their logs; returns how many. */
  purge(p: PurgeRequest): Promise<number> {
    return deleteFinishedInBatches(this.store, p);
  }

  /** Its own templates from drover.yaml, read again (SIGHUP); jobs already created keep theirs. */
  reloadTemplates(templates: Iterable<Template>): void {
    this.o.templates.replaceOwn(templates);
  }

  templates(): TemplateInfo[] {
    return this.o.templates.all();
  }

  /** The storage's free space against its reserve; null without a guard (PostgreSQL). */
  storage(): StorageStatus | null {
    return this.o.disk?.status() ?? null;
  }

  /** Told when a request found the store refusing writes (full, or down): maintenance holds the leases (Scheduler.noteStoreFailure). */
  onStoreFailure: () => void = () => {};

  /** A request found the database unreachable. */
  storeUnavailable(): void {
    this.onStoreFailure();
  }

  /** A write failed for want of space: look at the free space again, and give back what the store can (SQLite's WAL). */
  async storageFull(): Promise<void> {
    this.onStoreFailure();
    this.o.metrics.storageFull.inc();
    this.o.disk?.forget();
    await this.store.checkpoint?.();
  }

  /** The Prometheus exposition of this coordinator's metrics. */
  async metricsText(): Promise<{ contentType: string; text: string }> {
    const reg = this.o.metrics.registry;
    return { contentType: reg.contentType, text: await reg.metrics() };
  }

  /** Kinds known to the coordinator: built in plus advertised by workers. */
  knownKinds(): string[] {
    return [...this.registry.kinds].sort();
  }

  /** The params each built-in kind takes without a template, where it checks them. */
  kindParams(): Record<string, string[]> {
    return Object.fromEntries(KIND_MODULES.flatMap((m) => (m.params ? [[m.name, [...m.params]]] : [])));
  }

  /**
   * Claims up to `limit` jobs for the worker, waiting up to `waitMs` for work to arrive
   * (leasing.ts). `signal` aborts the wait when the client goes away.
   */
  lease(p: LeaseParams): Promise<Job[]> {
    return this.leasing.lease(p);
  }

  async heartbeat(p: { worker: WorkerPulse; items: HeartbeatItem[] }): Promise<HeartbeatAnswer[]> {
    // The leases first: the registry row is a convenience, a failure to write it must cost no lease.
    const answers = p.items.length === 0 ? [] : await this.store.heartbeat({ worker: p.worker.name, items: p.items, leaseMs: this.leaseTtlMs, now: this.clock.now() });
    p.items.forEach((it, i) => {
      if (!it.progress) return;
      this.jobChanged.notify(it.id);
      // Only from the worker holding the lease: another's report changed nothing, and shows nowhere.
      if (answers[i]?.status === 'ok') this.events.progress(it.id, it.progress);
    });
    await this.registry.pulse(p.worker).catch(() => undefined);
    return answers;
  }

  /**
   * Settles outcomes. Waiting workers are woken only when one could now claim something: a job
   * was given back, or a keyed job ended and freed a slot of its key. Waking them on every batch
   * would send every idle worker's long poll to the database on each completion. A retry with
   * backoff is woken by the scheduler when it is due.
   */
  async complete(items: CompleteItem[]): Promise<CompleteAnswer[]> {
    const answers = await this.store.complete({ items: await Promise.all(items.map((it) => this.families.withChildren(it))), now: this.clock.now() });
    this.timings.reported(answers);
    await this.publishOutcomes(items, answers);
    const parents = [...new Set(answers.flatMap((a) => (a.status === 'ok' && a.parentId && isFinalState(a.state) ? [a.parentId] : [])))];
    if (parents.length > 0) await this.settleParents(parents);
    let wake = 0;
    for (const a of answers) {
      if (a.status !== 'ok') continue;
      // A parent's report is not its end: that is counted when its children have ended.
      if (a.state !== 'awaiting_children') this.o.metrics.finished.inc({ state: a.state });
      this.jobChanged.notify(a.id);
      // Queued again or a key slot freed: one more job some worker may claim; children made: any number.
      if (a.state === 'awaiting_children') wake = Infinity;
      else if (a.state === 'queued' || a.freesSlot) wake++;
    }
    this.notifyWork(wake);
    // `freesSlot` and `parentId` are for coordinators, not for the worker's answer.
    return answers.map((a) => (a.status === 'ok' && (a.freesSlot || a.parentId) ? { id: a.id, status: a.status, state: a.state } : a));
  }

  /** Ends the parents whose children have all ended (up the tree), and tells who waits on them; returns those it ended. */
  async settleParents(ids?: string[]): Promise<Job[]> {
    const ended = await this.families.settle(ids);
    this.events.jobs(ended);
    return ended;
  }

  /** Jobs maintenance changed (leases expired, time limits reached): for the live events. */
  maintained(jobs: readonly Job[]): void {
    this.events.jobs(jobs);
  }

  /** The live events of these outcomes; jobs leased elsewhere are read from the store, while someone listens. */
  private async publishOutcomes(items: CompleteItem[], answers: CompleteAnswer[]): Promise<void> {
    const errors = new Map(items.map((it) => [it.id, it.error ?? null]));
    const settled = answers.flatMap((a) => (a.status === 'ok' ? [{ id: a.id, state: a.state, error: errors.get(a.id) ?? null }] : []));
    const unknown = this.events.listening ? new Set(this.events.unknown(settled.map((a) => a.id))) : new Set<string>();
    this.events.outcomes(settled.filter((a) => !unknown.has(a.id)));
    if (unknown.size > 0) this.events.jobs((await Promise.all([...unknown].map((id) => this.store.get(id)))).filter((j): j is Job => j !== null));
  }

  /** Adds to a running job's log; only with its current lease token (409 else), so no worker writes into another's job. */
  async appendLog(jobId: string, token: string, chunks: LogChunk[]): Promise<void> {
    const job = await this.mustGet(jobId);
    if (job.state !== 'running' || !job.lease || !tokensEqual(job.lease.token, token)) throw new ConflictError(`job ${jobId}: stale lease token (the job is ${job.state}${job.lease ? ', held by another lease' : ''}); its log takes lines only from the worker holding it`);
    const secrets = secretValuesOf(secretParamsForRedaction(this.o.secretBox, job), job.secrets);
    const clean = secrets.length === 0 ? chunks : chunks.map((c) => ({ ...c, text: redactText(c.text, secrets) }));
    await this.store.appendLog({ jobId, chunks: clean, now: this.clock.now() });
    this.jobChanged.notify(jobId);
  }

  /** Log chunks after `after`; waits up to `waitMs` for some while the job is active. */
  readLogs(p: { jobId: string; after: number; limit: number; waitMs: number; signal?: AbortSignal }): Promise<LogsAnswer> {
    return this.polls.readLogs(p);
  }

  /** The job once it changed after `since` (its updatedAt, epoch ms) or is final; at the latest after `waitMs`. */
  waitForJob(p: { id: string; since: number; waitMs: number; signal?: AbortSignal }): Promise<Job> {
    return this.polls.waitForJob(p);
  }

  /** Jobs `worker` must stop; waits up to `waitMs` for one. */
  waitForStops(p: { worker: string; waitMs: number; signal?: AbortSignal }): Promise<StopOrder[]> {
    return this.polls.waitForStops(p);
  }
}
