import type { Logger } from 'pino';
import { ApiError } from '../client/api-client.js';
import type { DroverClient } from '../client/drover-client.js';
import { errorMessage } from '../core/errors.js';
import type { CompleteAnswer, CompleteItem } from '../core/reports.js';
import type { LeaseAnswer, LeaseRequest } from '../protocol/messages.js';
import { reconnectDelay, sleep } from './retry.js';

/** A lease to send with a batch of outcomes (`next` of POST /complete), and where its answer goes. */
export interface NextLease {
  request: LeaseRequest;
  /** Called once: with the answer, or null when none came (not sent, the request failed, or the coordinator predates `next`). */
  settle(answer: LeaseAnswer | null): void;
}

/**
 * Reports outcomes to the coordinator in batches: whatever accumulates while one request is in
 * flight goes in the next. While the coordinator is unreachable it keeps the outcomes and retries
 * with backoff, so a finished job is never forgotten while the worker lives.
 */
export class OutcomeReporter {
  private pending: Array<{ item: CompleteItem; done: (a: CompleteAnswer | null) => void }> = [];
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private readonly stopped = new AbortController();
  /** Cleared when the coordinator refused a report that carried a lease: outcomes then go alone. */
  private leaseWithReports = true;

  /**
   * @param timeoutMs each request's bound, ms (the worker's: a third of the lease TTL, so an
   *   unreachable coordinator shows, and is retried, well before the leases run out)
   * @param nextLease asked as each batch goes: a lease to send with it, or null
   */
  constructor(
    private readonly api: DroverClient,
    private readonly log: Logger,
    private readonly timeoutMs: () => number,
    private readonly nextLease: () => NextLease | null = () => null,
  ) {}

  /** Queues an outcome; resolves with the coordinator's answer (null if the reporter was stopped first). */
  report(item: CompleteItem): Promise<CompleteAnswer | null> {
    return new Promise((done) => {
      this.pending.push({ item, done });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  get backlog(): number {
    return this.pending.length;
  }

  stop(): void {
    this.stopped.abort();
    for (const p of this.pending.splice(0)) p.done(null);
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0 && !this.stopped.signal.aborted) {
      const batch = this.pending.splice(0, 5000);
      const items = batch.map((b) => b.item);
      // Asked even when outcomes go alone: the slots it would fill go back to the lease loop (settle null).
      let next = once(this.nextLease());
      if (next && !this.leaseWithReports) {
        next.settle(null);
        next = null;
      }
      try {
        let answers: CompleteAnswer[];
        if (next) {
          const reply = await this.api.completeAndLease(items, next.request, { timeoutMs: this.timeoutMs() });
          next.settle(reply.next);
          answers = reply.answers;
        } else {
          answers = await this.api.complete(items, { timeoutMs: this.timeoutMs() });
        }
        this.failures = 0;
        batch.forEach((b, i) => b.done(answers[i] ?? null));
      } catch (err) {
        next?.settle(null);
        if (err instanceof ApiError && err.status >= 400 && err.status < 500 && next) {
          // The lease part may be what was refused: the outcomes go again, alone, from now on.
          this.log.warn({ err: errorMessage(err) }, 'coordinator refused outcomes sent with a lease; sending them alone');
          this.leaseWithReports = false;
          this.pending.unshift(...batch);
          continue;
        }
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          // The coordinator refused the batch itself: retrying cannot help.
          this.log.error({ err: errorMessage(err) }, 'coordinator refused outcome reports');
          batch.forEach((b) => b.done(null));
          continue;
        }
        this.pending.unshift(...batch);
        // Tried again well within a lease, however long the outage: not the 15 s of the lease loop's backoff.
        const delay = Math.min(reconnectDelay(++this.failures), this.timeoutMs());
        this.log.warn({ err: errorMessage(err), retryInMs: delay, backlog: this.pending.length }, 'cannot report outcomes; will retry');
        await sleep(delay, this.stopped.signal);
      }
    }
    this.flushing = null;
  }
}

/** `next` whose settle runs at most once, whatever throws after it ran. */
function once(next: NextLease | null): NextLease | null {
  if (!next) return null;
  let settled = false;
  return {
    request: next.request,
    settle: (answer) => {
      if (settled) return;
      settled = true;
      next.settle(answer);
    },
  };
}
