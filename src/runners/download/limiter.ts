/** A counting semaphore: `take` waits for a free unit, the returned function gives it back once. */
export class Semaphore {
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  async take(signal?: AbortSignal): Promise<() => void> {
    while (this.used >= this.size) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', gone);
          resolve();
        };
        // An aborted waiter leaves the line, so a release never wakes someone who has gone.
        const gone = () => {
          const i = this.waiters.indexOf(done);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        };
        this.waiters.push(done);
        signal?.addEventListener('abort', gone, { once: true });
      });
    }
    signal?.throwIfAborted();
    this.used++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used--;
      this.waiters.shift()?.();
    };
  }
}

/** Connection limits of one worker: all jobs together, and per host. */
export class ConnectionLimits {
  private readonly all: Semaphore;
  private readonly hosts = new Map<string, Semaphore>();

  constructor(
    maxConnections: number,
    private readonly perHost: number,
  ) {
    this.all = new Semaphore(maxConnections);
  }

  /** Waits for a connection slot to `host`; returns its release. */
  async take(host: string, signal?: AbortSignal): Promise<() => void> {
    let h = this.hosts.get(host);
    if (!h) this.hosts.set(host, (h = new Semaphore(this.perHost)));
    const releaseHost = await h.take(signal);
    try {
      const releaseAll = await this.all.take(signal);
      return () => {
        releaseAll();
        releaseHost();
      };
    } catch (err) {
      releaseHost();
      throw err;
    }
  }
}
