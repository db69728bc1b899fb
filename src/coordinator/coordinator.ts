import type { Clock } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { redactText, secretValuesOf, type Job } from '../core/job.js';
import type { CompleteAnswer, CompleteItem, HeartbeatAnswer, HeartbeatItem, JobStore, LogChunk, ResolvedNewJob, Subscription, WorkerInfo } from '../store/store.js';
import type { Metrics } from './metrics.js';
import { BUILTIN_KINDS, resolveNewJob } from './resolve-job.js';
import type { TemplateCatalog } from './templates.js';
import { KeyedWakeups, Wakeup } from './wakeups.js';

export interface CoordinatorOptions {
  store: JobStore;
  clock: Clock;
  templates: TemplateCatalog;
  metrics: Metrics;
  /** A lease not renewed within this many ms is void. Default 30000. */
  leaseTtlMs: number;
  /** How often workers should heartbeat, ms. Default 10000. */
  heartbeatIntervalMs: number;
  /** On a shared store without a working subscription, long polls look again this often, ms. Default 1000. */
  pollMs?: number;
  /** Time limit of a download attempt when the job gives none, ms. Default 30 min (the seed's). */
  downloadTimeLimitMs?: number;
}

/** At most this many jobs in one enqueue call. */
export const MAX_BATCH = 50_000;
/** A worker's registry row is rewritten at most this often, ms. */
const REGISTRY_WRITE_MS = 2_000;

/**
 * The coordinator's logic, between the HTTP layer and the store: validates, fills defaults,
 * wakes long-polling workers, tells workers to stop. Knows nothing of HTTP.
 */
export class Coordinator {
  readonly workAvailable = new Wakeup();
  readonly stops = new KeyedWakeups();
  /** Per job: woken when its log grows or it gets an outcome (for `logs -f`). */
  readonly jobChanged = new KeyedWakeups();
  private readonly kinds = new Set<string>(BUILTIN_KINDS);
  private readonly lastRegistryWrite = new Map<string, number>();
  private readonly closing = new AbortController();
  private subscription: Subscription | null = null;

  constructor(readonly opts: CoordinatorOptions) {}

  /** Hears of work and stops from other coordinators on a shared store, where it can. */
  async subscribe(): Promise<void> {
    if (!this.store.subscribe) return;
    try {
      this.subscription = await this.store.subscribe({ work: () => this.workAvailable.notify(), stop: (w) => this.stops.notify(w) });
    } catch {
      // No notifications (e.g. LISTEN through PgBouncer): long polls look again every pollMs.
      this.subscription = null;
    }
  }

  /**
   * The longest a long poll may sleep before looking at the store again: unbounded when every
   * change reaches this coordinator (its own store, or a healthy subscription), else `pollMs`.
   */
  pollSliceMs(): number {
    if (!this.store.shared || this.subscription?.healthy()) return Infinity;
    return this.opts.pollMs ?? 1000;
  }

  /** Ends every long poll now (shutdown): they answer with what they have. */
  async close(): Promise<void> {
    this.closing.abort();
    this.workAvailable.notify();
    await this.subscription?.close();
  }

  /** `signal` combined with the coordinator's own shutdown. */
  untilClosed(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
  }

  get store(): JobStore {
    return this.opts.store;
  }

  async loadWorkerRegistry(): Promise<void> {
    for (const w of await this.store.listWorkers()) this.learnWorker(w);
  }

  /** Checks and fills defaults without creating anything. Throws on the first bad job. */
  validate(inputs: unknown[], now = this.opts.clock.now()): ResolvedNewJob[] {
    if (inputs.length === 0) throw new ValidationError('jobs: at least one job is required', 'jobs');
    if (inputs.length > MAX_BATCH) throw new ValidationError(`jobs: at most ${MAX_BATCH} jobs per request`, 'jobs');
    const ctx = { templates: this.opts.templates, kinds: this.kinds, now, ...(this.opts.downloadTimeLimitMs ? { timeLimits: { download: this.opts.downloadTimeLimitMs } } : {}) };
    return inputs.map((j, i) => resolveNewJob(j, ctx, inputs.length > 1 ? `jobs[${i}].` : ''));
  }

  async enqueue(inputs: unknown[]): Promise<Job[]> {
    const now = this.opts.clock.now();
    const jobs = await this.store.enqueue({ jobs: this.validate(inputs, now), now });
    this.opts.metrics.enqueued.inc(jobs.length);
    if (jobs.some((j) => j.state === 'queued')) this.workAvailable.notify();
    return jobs;
  }

  async cancel(id: string): Promise<Job> {
    const job = await this.store.cancel({ id, now: this.opts.clock.now() });
    if (job.state === 'running' && job.lease) this.stops.notify(job.lease.worker);
    return job;
  }

  async retry(id: string): Promise<Job> {
    const job = await this.store.retry({ id, now: this.opts.clock.now() });
    this.workAvailable.notify();
    return job;
  }

  async mustGet(id: string): Promise<Job> {
    const job = await this.store.get(id);
    if (!job) throw new NotFoundError(`no job ${id}`);
    return job;
  }

  /**
   * Claims up to `limit` jobs for the worker, waiting up to `waitMs` for work to arrive.
   * `signal` aborts the wait when the client goes away, so nothing is leased to a closed socket.
   */
  async lease(p: { worker: WorkerInfo; queues: string[]; limit: number; waitMs: number; signal?: AbortSignal }): Promise<Job[]> {
    await this.register(p.worker);
    const deadline = this.opts.clock.now() + p.waitMs;
    const signal = this.untilClosed(p.signal);
    for (;;) {
      if (signal.aborted) return [];
      // Work that arrives while the claim runs (the store may be remote) must not be missed.
      const seen = this.workAvailable.generation;
      const jobs = await this.store.claim({
        worker: p.worker.name,
        kinds: p.worker.kinds,
        templates: p.worker.templates.map((t) => t.name),
        queues: p.queues,
        limit: p.limit,
        leaseMs: this.opts.leaseTtlMs,
        now: this.opts.clock.now(),
      });
      if (jobs.length > 0) {
        this.opts.metrics.started.inc(jobs.length);
        return jobs;
      }
      const left = deadline - this.opts.clock.now();
      if (left <= 0) return [];
      await this.workAvailable.wait(Math.min(left, this.pollSliceMs()), signal, seen);
    }
  }

  async heartbeat(p: { worker: WorkerInfo; items: HeartbeatItem[] }): Promise<HeartbeatAnswer[]> {
    await this.register(p.worker);
    if (p.items.length === 0) return [];
    return this.store.heartbeat({ worker: p.worker.name, items: p.items, leaseMs: this.opts.leaseTtlMs, now: this.opts.clock.now() });
  }

  /**
   * Settles outcomes. Waiting workers are woken only when one could now claim something: a job
   * was given back, or a keyed job ended and freed a slot of its key. Waking them on every batch
   * would send every idle worker's long poll to the database on each completion. A retry with
   * backoff is woken by the scheduler when it is due.
   */
  async complete(items: CompleteItem[]): Promise<CompleteAnswer[]> {
    const answers = await this.store.complete({ items, now: this.opts.clock.now() });
    let wake = false;
    for (const a of answers) {
      if (a.status !== 'ok') continue;
      this.opts.metrics.finished.inc({ state: a.state });
      this.jobChanged.notify(a.id);
      if (a.state === 'queued' || a.freesSlot) wake = true;
    }
    if (!wake) return answers;
    this.workAvailable.notify();
    // `freesSlot` is for coordinators, not for the worker's answer.
    return answers.map((a) => (a.status === 'ok' && a.freesSlot ? { id: a.id, status: a.status, state: a.state } : a));
  }

  async appendLog(jobId: string, chunks: LogChunk[]): Promise<void> {
    const job = await this.mustGet(jobId);
    const secrets = secretValuesOf(job.params, job.secrets);
    const clean = secrets.length === 0 ? chunks : chunks.map((c) => ({ ...c, text: redactText(c.text, secrets) }));
    await this.store.appendLog({ jobId, chunks: clean, now: this.opts.clock.now() });
    this.jobChanged.notify(jobId);
  }

  /** Kinds known to the coordinator: built in plus advertised by workers. */
  knownKinds(): string[] {
    return [...this.kinds].sort();
  }

  private async register(w: WorkerInfo): Promise<void> {
    const now = this.opts.clock.now();
    const last = this.lastRegistryWrite.get(w.name);
    this.learnWorker(w);
    if (last !== undefined && now - last < REGISTRY_WRITE_MS) return;
    this.lastRegistryWrite.set(w.name, now);
    await this.store.upsertWorker({ worker: w, now });
  }

  private learnWorker(w: WorkerInfo): void {
    for (const k of w.kinds) this.kinds.add(k);
    this.opts.templates.learn(w.templates);
  }
}
