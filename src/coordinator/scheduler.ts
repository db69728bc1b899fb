import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { MAX_TIMER_MS } from '../core/long-timeout.js';
import { ENQUEUE_KEY_TTL_MS } from '../store/enqueue-keys.js';
import type { Job } from '../core/job.js';
import type { JobStore } from '../store/store.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { deleteFinishedInBatches } from './delete-finished.js';
import type { Metrics } from './metrics.js';

export interface SchedulerOptions {
  store: JobStore;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
  /** Up to `jobs` may have become claimable (requeued, promoted): wake as many waiting lease requests. */
  onWork(jobs?: number): void;
  /** `worker` holds a job past its time limit: wake its stop long poll. */
  onStop(worker: string): void;
  /** Jobs maintenance changed: leases voided (requeued or ended), time limits reached. */
  onJobs?(jobs: readonly Job[]): void;
  /** Enqueues the jobs of the schedules due at `now`. */
  fireSchedules?(now: number): Promise<unknown>;
  /** Ends the parents whose children have all ended (those a child's end did not reach: lost leases, another coordinator). */
  settleParents?(): Promise<unknown>;
  /** How often maintenance runs, ms. Default 1000; at most MAX_TIMER_MS (about 24.8 days). */
  tickMs?: number;
  /** Finished jobs older than this (by finish time, ms) are deleted with their logs. Default: kept forever. */
  retentionMs?: number | null;
  /** The lease TTL, ms: how long after a failure of the store (noteStoreFailure) no lease is voided. Default SERVER_DEFAULTS.leaseTtlMs. */
  leaseTtlMs?: number;
}

/** Retention runs at most this often, ms. */
const RETENTION_EVERY_MS = 60_000;

/**
 * The coordinator's maintenance loop: moves due `waiting` jobs to `queued`, voids expired leases
 * (requeue or fail) and tells workers to stop jobs past their time limit.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private leading = false;
  private lastRetention = 0;
  private lastKeyPrune = 0;
  /** Jobs deleted by retention since start. */
  deleted = 0;
  /** When a write of the store last failed, on the clock (ms); null: not since start. */
  private storeFailedAt: number | null = null;

  private readonly log: Logger;

  constructor(private readonly opts: SchedulerOptions) {
    this.log = opts.log;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    // Clamped: an interval past MAX_TIMER_MS would run every 1 ms instead.
    this.timer = setInterval(() => void this.tick(), Math.min(MAX_TIMER_MS, this.opts.tickMs ?? SERVER_DEFAULTS.tickMs));
    this.timer.unref();
  }

  /**
   * The store refused a write (its disk full, the database down): workers could not renew
   * their leases meanwhile, through no fault of theirs. No lease is voided until a lease TTL
   * after the last such failure, so their heartbeats renew them and their outcomes count,
   * instead of the jobs running again elsewhere.
   */
  noteStoreFailure(): void {
    this.storeFailedAt = this.opts.clock.now();
  }

  /** Runs one maintenance pass now (also used by tests). Passes never overlap. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pass()
      .catch((err) => {
        this.noteStoreFailure();
        this.log.error({ err: errorMessage(err) }, 'maintenance pass failed');
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pass(): Promise<void> {
    const { store, clock, metrics } = this.opts;
    // On a shared store one coordinator at a time does this; the others stand by.
    if (store.tryLead && !(await store.tryLead())) {
      if (this.leading) this.log.info('no longer leading maintenance');
      this.leading = false;
      return;
    }
    if (!this.leading && store.tryLead) this.log.info('leading maintenance');
    this.leading = true;
    const now = clock.now();
    let wake = await store.promoteDue({ now });
    // Time limits first: a dead worker's job past its deadline ends timed_out, not requeued.
    const overdue = await store.markTimedOut({ now });
    const held = this.storeFailedAt !== null && now - this.storeFailedAt < (this.opts.leaseTtlMs ?? SERVER_DEFAULTS.leaseTtlMs);
    const reaped = held ? [] : await store.reapExpiredLeases({ now });
    if (reaped.length > 0) {
      metrics.leasesExpired.inc(reaped.length);
      for (const j of reaped) this.log.warn({ job: j.id, state: j.state, error: j.error }, 'lease expired');
      wake += reaped.filter((j) => j.state === 'queued').length;
    }
    for (const j of overdue) {
      metrics.timedOut.inc();
      this.log.info({ job: j.id, worker: j.lease?.worker }, 'time limit reached; telling the worker to stop');
      if (j.lease) this.opts.onStop(j.lease.worker);
    }
    if (reaped.length > 0 || overdue.length > 0) this.opts.onJobs?.([...overdue, ...reaped]);
    if (wake > 0) this.opts.onWork(wake);
    // Deltas left unfolded only make counts read more rows: a failure here costs nothing else.
    await store.foldCounts?.().catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'folding job counts failed'));
    await this.opts.settleParents?.().catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'ending parents failed'));
    // Its own failure (a store error) must not cost the rest of maintenance.
    await this.opts.fireSchedules?.(now).catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'firing schedules failed'));
    if (now - this.lastKeyPrune >= RETENTION_EVERY_MS) {
      this.lastKeyPrune = now;
      await store.pruneEnqueueKeys({ before: now - ENQUEUE_KEY_TTL_MS }).catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'forgetting old enqueue keys failed'));
    }
    if (this.opts.retentionMs && now - this.lastRetention >= RETENTION_EVERY_MS) {
      this.lastRetention = now;
      await this.retain(now - this.opts.retentionMs);
    }
  }

  /** Deletes finished jobs older than `before`, a batch at a time (at most 50,000 a pass). */
  private async retain(before: number): Promise<void> {
    this.deleted += await deleteFinishedInBatches(this.opts.store, { before, maxJobs: 50_000 });
  }

  /** Whether this coordinator ran maintenance on its last pass. */
  get isLeading(): boolean {
    return this.leading;
  }
}
