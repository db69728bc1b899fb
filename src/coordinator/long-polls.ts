import type { Clock } from '../core/clock.js';
import { isFinalState, type Job } from '../core/job.js';
import type { LogsAnswer, StopOrder } from '../protocol/messages.js';
import type { JobStore } from '../store/store.js';
import type { PollCaps } from './poll-caps.js';
import type { KeyedWakeups } from './wakeups.js';

/**
 * Waits for a job's log or state look again at least this often, ms: a change made elsewhere
 * (maintenance, another coordinator) wakes no one here.
 */
const JOB_LOOK_AGAIN_MS = 1_000;

/**
 * The coordinator's long polls of a job's log, a job's changes and a worker's stop orders, on its
 * clock: each waits for its wake-up, looks at the store again, and answers at its deadline, when
 * the client goes away, or at shutdown.
 */
export class LongPolls {
  private readonly closing = new AbortController();

  constructor(
    private readonly o: {
      store: JobStore;
      clock: Clock;
      /** The longest any long poll waits, whatever a client asks, ms. */
      maxLongPollMs: number;
      /** Without notifications, long polls look at the store again this often, ms. */
      pollMs: number;
      /** Woken when a job's log grows, its progress or state changes. */
      jobChanged: KeyedWakeups;
      /** Woken when a worker holds a job it must stop. */
      stops: KeyedWakeups;
      /** Whether every change reaches this coordinator (its own store, or a healthy subscription). */
      notified: () => boolean;
      /** The job, or a NotFoundError. */
      mustGet: (id: string) => Promise<Job>;
      /** How many long polls may wait at once, in all and per worker. */
      caps: PollCaps;
    },
  ) {}

  /** Ends every long poll now (shutdown): they answer with what they have. */
  close(): void {
    this.closing.abort();
  }

  /**
   * A place for one long poll of `worker` (null: a client's) that waits up to `waitMs`, or a
   * TooManyPollsError (429); returns its release. A request that does not wait takes none.
   */
  enter(worker: string | null, waitMs: number): () => void {
    return this.capWait(waitMs) > 0 ? this.o.caps.enter(worker) : () => {};
  }

  /** Long polls waiting now: in all, or lease and stop polls of `worker`. */
  count(worker?: string): number {
    return this.o.caps.count(worker);
  }

  /** Log chunks after `after`; waits up to `waitMs` for some while the job is active. */
  async readLogs(p: { jobId: string; after: number; limit: number; waitMs: number; signal?: AbortSignal }): Promise<LogsAnswer> {
    const leave = this.enter(null, p.waitMs);
    try {
      return await this.logsOnce(p);
    } finally {
      leave();
    }
  }

  private async logsOnce(p: { jobId: string; after: number; limit: number; waitMs: number; signal?: AbortSignal }): Promise<LogsAnswer> {
    const signal = this.untilClosed(p.signal);
    const deadline = this.o.clock.now() + this.capWait(p.waitMs);
    for (;;) {
      const job = await this.o.mustGet(p.jobId);
      const chunks = await this.o.store.readLog({ jobId: p.jobId, after: p.after, limit: p.limit });
      const left = deadline - this.o.clock.now();
      if (chunks.length > 0 || isFinalState(job.state) || left <= 0 || signal.aborted) {
        return { chunks, next: chunks.length > 0 ? (chunks[chunks.length - 1] as { seq: number }).seq : p.after, state: job.state };
      }
      await this.o.jobChanged.wait(p.jobId, Math.min(left, JOB_LOOK_AGAIN_MS), signal);
    }
  }

  /** The job once it changed after `since` (its updatedAt, epoch ms) or is final; at the latest after `waitMs`. */
  async waitForJob(p: { id: string; since: number; waitMs: number; signal?: AbortSignal }): Promise<Job> {
    const leave = this.enter(null, p.waitMs);
    try {
      const signal = this.untilClosed(p.signal);
      const deadline = this.o.clock.now() + this.capWait(p.waitMs);
      for (;;) {
        const job = await this.o.mustGet(p.id);
        const left = deadline - this.o.clock.now();
        if (job.updatedAt > p.since || isFinalState(job.state) || left <= 0 || signal.aborted) return job;
        await this.o.jobChanged.wait(p.id, Math.min(left, JOB_LOOK_AGAIN_MS), signal);
      }
    } finally {
      leave();
    }
  }

  /** Jobs `worker` must stop; waits up to `waitMs` for one. */
  async waitForStops(p: { worker: string; waitMs: number; signal?: AbortSignal }): Promise<StopOrder[]> {
    const leave = this.enter(p.worker, p.waitMs);
    try {
      const signal = this.untilClosed(p.signal);
      const deadline = this.o.clock.now() + this.capWait(p.waitMs);
      let stops = await this.o.store.stopsFor({ worker: p.worker });
      while (stops.length === 0 && !signal.aborted && this.o.clock.now() < deadline) {
        await this.o.stops.wait(p.worker, Math.min(deadline - this.o.clock.now(), this.pollSliceMs()), signal);
        stops = await this.o.store.stopsFor({ worker: p.worker });
      }
      return stops;
    } finally {
      leave();
    }
  }

  /**
   * The longest a long poll may sleep before looking at the store again: unbounded when every
   * change reaches this coordinator, else `pollMs`.
   */
  pollSliceMs(): number {
    return this.o.notified() ? Infinity : this.o.pollMs;
  }

  /** A wait as asked, within 0 and the longest long poll. */
  capWait(ms: number): number {
    return Math.max(0, Math.min(this.o.maxLongPollMs, ms));
  }

  /** Whether the coordinator shut its long polls (their wake-ups are notified then too). */
  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** `signal` combined with the coordinator's own shutdown. */
  untilClosed(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
  }
}
