import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Job } from '../core/job.js';
import type { CompleteAnswer, CompleteItem, WorkerInfo } from '../core/reports.js';
import type { SecretBox } from '../core/secret-box.js';
import type { JobStore } from '../store/store.js';
import type { JobTimings } from './job-timings.js';
import type { LiveEvents } from './live-events.js';
import type { LongPolls } from './long-polls.js';
import type { Metrics } from './metrics.js';
import { openLeased } from './secret-params.js';
import type { ServerTiming } from './server-timing.js';
import type { Turn, Wakeup } from './wakeups.js';
import type { WorkerRegistry } from './worker-registry.js';

/** What `Coordinator.lease` takes. */
export interface LeaseParams {
  worker: WorkerInfo;
  queues: string[];
  limit: number;
  waitMs: number;
  signal?: AbortSignal;
  timing?: ServerTiming;
}

/** What leasing needs of the coordinator. */
export interface LeasingDeps {
  store: JobStore;
  clock: Clock;
  metrics: Metrics;
  secretBox: SecretBox;
  registry: WorkerRegistry;
  polls: LongPolls;
  /** Woken when work may be claimable. */
  workAvailable: Wakeup;
  timings: JobTimings;
  events: LiveEvents;
  leaseTtlMs: number;
  /** The coordinator's outcomes: jobs given back, or failed. */
  complete(items: CompleteItem[]): Promise<CompleteAnswer[]>;
  log?: Logger;
}

/**
 * Lease requests: claims for a worker, the long poll while there is nothing to claim, and the
 * wake-ups that end it (one waiter per job made, handed on to another group when it finds nothing).
 */
export class Leasing {
  constructor(private readonly d: LeasingDeps) {}

  /**
   * Claims up to `limit` jobs for the worker, waiting up to `waitMs` for work to arrive.
   * `signal` aborts the wait when the client goes away, so nothing is leased to a closed socket.
   * `timing` gets, when jobs were leased: `wait` (for work), `wake` (from the notification to
   * this request running again), `claim` (the store's), ms.
   */
  async lease(p: LeaseParams): Promise<Job[]> {
    // Refused before anything is done: a worker over its cap backs off and asks again.
    const leave = this.d.polls.enter(p.worker.name, p.waitMs);
    try {
      return await this.leaseOnce(p);
    } finally {
      leave();
    }
  }

  private async leaseOnce(p: LeaseParams): Promise<Job[]> {
    const arrived = performance.now();
    await this.d.registry.register({ ...p.worker, queues: p.queues });
    const deadline = this.d.clock.now() + this.d.polls.capWait(p.waitMs);
    // Not AbortSignal.any with the shutdown's signal (30 µs a request): close() wakes every lease poll, which then sees `closed`.
    const gone = () => p.signal?.aborted === true || this.d.polls.closed;
    // The notification that woke this request, if one did: passed on when it finds nothing.
    let wokenBy: Turn | null = null;
    /** The last wait's end, and its notification's delay to it, ms. */
    let waitedUntil = arrived;
    let wakeMs = 0;
    // Lease requests of one group would claim the same jobs: a wake-up one could not use goes to another group.
    const group = claimGroupOf(p.worker, p.queues);
    for (;;) {
      if (gone()) {
        if (wokenBy) this.d.workAvailable.passOn(wokenBy, group);
        return [];
      }
      // Work that arrives while the claim runs (the store may be remote) must not be missed.
      const seen = this.d.workAvailable.generation;
      const claimStart = performance.now();
      const jobs = await this.d.store.claim({
        worker: p.worker.name,
        kinds: p.worker.kinds,
        templates: p.worker.templates.map((t) => t.name),
        queues: p.queues,
        node: p.worker.node ?? null,
        limit: p.limit,
        leaseMs: this.d.leaseTtlMs,
        now: this.d.clock.now(),
      });
      if (jobs.length > 0 && p.signal?.aborted) {
        // The worker went away while the claim ran (it gave up on this request): the answer
        // would reach no one, and the jobs would wait out their lease. Given back at once.
        await this.d.complete(jobs.map((j) => ({ id: j.id, token: j.lease?.token ?? '', outcome: 'failed' as const, retryable: true, release: true, error: `worker ${p.worker.name} was gone before the lease answer reached it; given back` })));
        return [];
      }
      if (jobs.length > 0) {
        this.d.metrics.started.inc(jobs.length);
        const claimMs = performance.now() - claimStart;
        this.d.timings.leased(jobs, claimMs);
        if (p.timing) {
          p.timing.add('wait', waitedUntil - arrived);
          p.timing.add('wake', wakeMs);
          p.timing.add('claim', claimMs);
        }
        // The one place a secret is opened for the wire: the lease answer to the worker holding the job.
        this.d.events.jobs(jobs);
        const { open, unreadable } = openLeased(this.d.secretBox, jobs);
        if (unreadable.length > 0) await this.failUnreadable(unreadable);
        if (open.length > 0) return open;
        continue;
      }
      // Woken for a job this worker cannot take (another queue or kind, a full key), or one another
      // worker took first: the next waiter may.
      if (wokenBy) this.d.workAvailable.passOn(wokenBy, group);
      const left = deadline - this.d.clock.now();
      if (left <= 0) return [];
      wokenBy = await this.d.workAvailable.waitTurn({ timeoutMs: Math.min(left, this.d.polls.pollSliceMs()), ...(p.signal ? { signal: p.signal } : {}), since: seen, group });
      waitedUntil = performance.now();
      wakeMs = wokenBy ? waitedUntil - wokenBy.at : 0;
      if (wokenBy && wokenBy.generation > 0) this.d.metrics.leaseWakeups.inc();
    }
  }

  /**
   * Fails, not retried, leased jobs whose secrets this coordinator cannot open (sealed under a
   * key it lacks), so one such job neither crashes the lease loop nor comes back on every lease.
   */
  private async failUnreadable(unreadable: Array<{ job: Job; error: string }>): Promise<void> {
    for (const u of unreadable) this.d.log?.error({ job: u.job.id, err: u.error }, 'leased job failed: its secret params cannot be decrypted');
    await this.d.complete(unreadable.map((u) => ({ id: u.job.id, token: u.job.lease?.token ?? '', outcome: 'failed' as const, retryable: false, error: u.error })));
  }
}

/** What a lease request would claim: its kinds, templates, queues and node (requests alike claim the same jobs). */
function claimGroupOf(worker: WorkerInfo, queues: string[]): string {
  return JSON.stringify([[...worker.kinds].sort(), worker.templates.map((t) => t.name).sort(), [...queues].sort(), worker.node ?? null]);
}
