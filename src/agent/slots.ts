/**
 * A worker's slots: how many jobs it may run at once, how many run, and how many are promised
 * to lease requests in flight, so that two requests never ask for the same slot.
 *
 * A run that ends with an outcome to report keeps its slot "held": the outcome goes to the
 * coordinator with a lease for the held slots in the same request (`next` of POST /complete),
 * instead of the lease loop sending a request of its own beside the report. What that lease does
 * not fill is given back to the lease loop.
 */
export class Slots {
  /** Slots promised to lease requests in flight, held ones included. */
  private reserved = 0;
  /** Slots freed by a run whose outcome is on its way, kept for that report's lease. */
  private held = 0;
  private waiters: Array<() => void> = [];

  /**
   * @param capacity the worker's slots now (a reload may change them)
   * @param running the jobs whose run is going on
   */
  constructor(
    private readonly capacity: () => number,
    private readonly running: () => number,
  ) {}

  /** Slots neither running nor promised. */
  free(): number {
    return this.capacity() - this.running() - this.reserved;
  }

  /** Promises `n` slots to a lease request; `release(n)` once it is answered. */
  reserve(n: number): void {
    this.reserved += n;
  }

  /** Gives back `n` promised slots, and wakes the lease loops waiting for one. */
  release(n: number): void {
    if (n <= 0) return;
    this.reserved -= n;
    this.wake();
  }

  /** Called as a run ends (its job no longer counts as running) when its outcome will be reported: the report's lease fills the slot. */
  hold(): void {
    this.held++;
    this.reserved++;
  }

  /** The held slots, for one report's lease: still promised, until `release`. */
  takeHeld(): number {
    const n = this.held;
    this.held = 0;
    return n;
  }

  /** Resolves when a slot may have come free. */
  waitForOne(): Promise<void> {
    return new Promise<void>((r) => this.waiters.push(r));
  }

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
