import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import type { Coordinator } from './coordinator.js';

export interface SchedulerOptions {
  /** How often maintenance runs, ms. Default 1000. */
  tickMs?: number;
}

/**
 * The coordinator's maintenance loop: moves due `waiting` jobs to `queued`, voids expired leases
 * (requeue or fail) and tells workers to stop jobs past their time limit.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly coord: Coordinator,
    private readonly log: Logger,
    private readonly opts: SchedulerOptions = {},
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? 1000);
    this.timer.unref();
  }

  /** Runs one maintenance pass now (also used by tests). Passes never overlap. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pass()
      .catch((err) => this.log.error({ err: errorMessage(err) }, 'maintenance pass failed'))
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
    const { store, clock, metrics } = this.coord.opts;
    const now = clock.now();
    let wake = (await store.promoteDue({ now })) > 0;
    // Time limits first: a dead worker's job past its deadline ends timed_out, not requeued.
    const overdue = await store.markTimedOut({ now });
    const reaped = await store.reapExpiredLeases({ now });
    if (reaped.length > 0) {
      metrics.leasesExpired.inc(reaped.length);
      for (const j of reaped) this.log.warn({ job: j.id, state: j.state, error: j.error }, 'lease expired');
      wake = true;
    }
    for (const j of overdue) {
      metrics.timedOut.inc();
      this.log.info({ job: j.id, worker: j.lease?.worker }, 'time limit reached; telling the worker to stop');
      if (j.lease) this.coord.stops.notify(j.lease.worker);
    }
    if (wake) this.coord.workAvailable.notify();
  }
}
