import { DroverError } from '../core/errors.js';

/** What a refused long poll is told to wait before asking again, s (a worker backs off on its own: 0.5 s doubling to 15 s). */
const RETRY_AFTER_S = 5;

/** A long poll refused because too many wait already: 429 `too_many_polls` with Retry-After. */
export class TooManyPollsError extends DroverError {
  readonly retryAfterS = RETRY_AFTER_S;
  constructor(message: string) {
    super(message, 429, 'too_many_polls');
  }
}

/**
 * Counts the long polls waiting now, in all and per worker, and refuses one over either cap.
 * A new poll is refused, not an old one answered early: an agent asks again at once after an
 * answer, so answering its oldest would turn a worker over its cap into a tight loop, while a
 * 429 sends it into its backoff.
 */
export class PollCaps {
  private total = 0;
  private readonly byWorker = new Map<string, number>();

  constructor(
    private readonly o: {
      /** Long polls at once, of every kind. */
      maxTotal: number;
      /** Lease and stop long polls of one worker at once. */
      maxPerWorker: number;
      /** Told each time the count changes (a gauge). */
      onCount?: (n: number) => void;
      /** Told of each refusal, by the cap that refused it. */
      onRefused?: (cap: 'total' | 'worker') => void;
    },
  ) {}

  /** Takes a place for one long poll of `worker` (null: a client's, counted in the total only); returns its release. */
  enter(worker: string | null): () => void {
    if (this.total >= this.o.maxTotal) {
      this.o.onRefused?.('total');
      throw new TooManyPollsError(`the coordinator holds ${this.total} long polls, as many as it takes (server.max_long_polls); try again in ${RETRY_AFTER_S} s`);
    }
    const held = worker === null ? 0 : (this.byWorker.get(worker) ?? 0);
    if (worker !== null && held >= this.o.maxPerWorker) {
      this.o.onRefused?.('worker');
      throw new TooManyPollsError(`worker ${worker} holds ${held} long polls already, as many as one worker may (server.max_long_polls_per_worker); try again in ${RETRY_AFTER_S} s`);
    }
    this.total++;
    if (worker !== null) this.byWorker.set(worker, held + 1);
    this.o.onCount?.(this.total);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      if (worker !== null) {
        const n = (this.byWorker.get(worker) ?? 1) - 1;
        if (n > 0) this.byWorker.set(worker, n);
        else this.byWorker.delete(worker);
      }
      this.o.onCount?.(this.total);
    };
  }

  /** Long polls waiting now: in all, or of `worker`. */
  count(worker?: string): number {
    return worker === undefined ? this.total : (this.byWorker.get(worker) ?? 0);
  }
}
