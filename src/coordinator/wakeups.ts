import { longTimeout } from '../core/long-timeout.js';

/**
 * In-process wake-ups for long polls. `wait` resolves when `notify` is called or the time runs
 * out; it never rejects. One instance per topic (work available, stops for one worker...).
 */
export class Wakeup {
  private waiters = new Set<() => void>();
  /** Counts notifications, so a caller can tell whether one came while it was busy. */
  generation = 0;

  /**
   * Resolves true when notified, false on timeout or abort. With `since` (a `generation` read
   * before the caller looked for work), a notification that came meanwhile returns at once.
   */
  wait(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<boolean> {
    if (since !== undefined && since !== this.generation) return Promise.resolve(true);
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (notified: boolean) => {
        timer.cancel();
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        resolve(notified);
      };
      const wake = () => done(true);
      const onAbort = () => done(false);
      // A long timer: `long_poll` comes from the config, and a plain setTimeout past 24.8 days
      // (or of Infinity) fires at once, which would spin the poll against the store.
      const timer = longTimeout(() => done(false), timeoutMs);
      this.waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  notify(): void {
    this.generation++;
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  get waiting(): number {
    return this.waiters.size;
  }
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
