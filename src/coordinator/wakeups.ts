import { longTimeout } from '../core/long-timeout.js';

/**
 * In-process wake-ups for long polls. `wait` resolves when `notify` reaches it or the time runs
 * out; it never rejects. One instance per topic (work available, stops for one worker...).
 *
 * `notify(n)` wakes the `n` longest waiting, not all: one job enqueued with a thousand idle
 * workers long-polling wakes one of them, not a thousand claims of which 999 find nothing. A
 * waiter woken for work it could not take (another queue, another kind) hands the wake-up on
 * with `passOn` to the longest waiting of a group not tried yet (waiters of one group would take
 * the same jobs) among those already waiting when the notification came. So a job some waiter
 * can take is not left with all asleep, and a wake-up tries each group at most once.
 */
export class Wakeup {
  /** Waiters, oldest first (a Map keeps insertion order): the generation they began at, and their group. */
  private waiters = new Map<(turn: Turn) => void, { since: number; group: string }>();
  /** Counts notifications, so a caller can tell whether one came while it was busy. */
  generation = 0;
  /** Waiters woken by a notification, in all: what a notification costs (a metric and test signal). */
  woken = 0;

  /**
   * Resolves true when notified, false on timeout or abort. With `since` (a `generation` read
   * before the caller looked for work), a notification that came meanwhile returns at once.
   */
  async wait(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<boolean> {
    return (await this.waitTurn({ timeoutMs, ...(signal ? { signal } : {}), ...(since !== undefined ? { since } : {}) })) !== null;
  }

  /**
   * As `wait`, resolving with the wake-up it was handed (for `passOn`): generation 0 when a
   * notification came before it began waiting (`since`), which it passes on to no one; null on
   * timeout or abort. `group` (default '') names what the waiter would take.
   */
  waitTurn(o: { timeoutMs: number; signal?: AbortSignal; since?: number; group?: string }): Promise<Turn | null> {
    const { timeoutMs, signal, since } = o;
    if (since !== undefined && since !== this.generation) return Promise.resolve({ generation: 0, tried: new Set(), at: performance.now() });
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (turn: Turn | null) => {
        timer.cancel();
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        resolve(turn);
      };
      const wake = (turn: Turn) => done(turn);
      const onAbort = () => done(null);
      // A long timer: `long_poll` comes from the config, and a plain setTimeout past 24.8 days
      // (or of Infinity) fires at once, which would spin the poll against the store.
      const timer = longTimeout(() => done(null), timeoutMs);
      this.waiters.set(wake, { since: this.generation, group: o.group ?? '' });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes the `n` longest waiting (default all): as many as there may be jobs to take. */
  notify(n = Infinity): void {
    const generation = ++this.generation;
    const at = performance.now();
    for (const wake of this.waiters.keys()) {
      if (n-- <= 0) break;
      this.woken++;
      // Each its own: the groups one chain of hand-ons has tried.
      wake({ generation, tried: new Set(), at });
    }
  }

  /**
   * A waiter of `group` handed `turn` found nothing it could take: wakes the longest waiting of
   * a group not tried yet among those waiting before that notification.
   */
  passOn(turn: Turn, group = ''): void {
    turn.tried.add(group);
    for (const [wake, w] of this.waiters) {
      // Oldest first: once one began after the notification, so did every one behind it.
      if (w.since >= turn.generation) return;
      if (turn.tried.has(w.group)) continue;
      this.woken++;
      wake(turn);
      return;
    }
  }

  get waiting(): number {
    return this.waiters.size;
  }
}

/** A wake-up handed to a waiter: the notification's generation, the groups it was handed to that found nothing. */
export interface Turn {
  generation: number;
  tried: Set<string>;
  /** When the notification came (performance.now, ms): a handed-on turn keeps the first one's. */
  at: number;
}

/** Wake-ups keyed by name (e.g. one per worker), created on demand and dropped when idle. */
export class KeyedWakeups {
  private readonly byKey = new Map<string, Wakeup>();

  async wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    let w = this.byKey.get(key);
    if (!w) {
      w = new Wakeup();
      this.byKey.set(key, w);
    }
    try {
      return await w.wait(timeoutMs, signal);
    } finally {
      if (w.waiting === 0) this.byKey.delete(key);
    }
  }

  notify(key: string): void {
    this.byKey.get(key)?.notify();
  }

  /** How many wait on `key` now (a test signal). */
  waiting(key: string): number {
    return this.byKey.get(key)?.waiting ?? 0;
  }
}
