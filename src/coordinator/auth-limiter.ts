import type { Clock } from '../core/clock.js';

/** How failed authentications are limited per client address. */
export interface AuthLimits {
  /** Failures from one address within `windowMs` that block it. Default 10. */
  maxFailures: number;
  /** The window failures are counted in, ms. Default 60000. */
  windowMs: number;
  /** How long a blocked address is answered 429, ms. Default 60000. */
  blockMs: number;
}

export const AUTH_LIMITS: AuthLimits = { maxFailures: 10, windowMs: 60_000, blockMs: 60_000 };

/** Addresses remembered at most; past this the oldest are forgotten (a flood from many addresses cannot grow memory). */
const MAX_ADDRESSES = 10_000;

interface Entry {
  /** Times of the last failures, oldest first: at most maxFailures. */
  failures: number[];
  /** Epoch ms the block ends; 0: not blocked. */
  blockedUntil: number;
}

/**
 * Counts failed authentications per client address on the coordinator's clock: `maxFailures`
 * within `windowMs` block the address for `blockMs`, during which every request of it that needs
 * a token is refused unseen (so a guess that would be right is refused too). Per coordinator, in
 * memory: a restart forgets.
 */
export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: AuthLimits = AUTH_LIMITS,
  ) {}

  /** How long `address` stays blocked, ms; 0 when it is not. */
  blockedFor(address: string): number {
    const e = this.entries.get(address);
    if (!e) return 0;
    const left = e.blockedUntil - this.clock.now();
    return left > 0 ? left : 0;
  }

  /** Records a failure of `address`; true when it starts a block. */
  fail(address: string): boolean {
    const now = this.clock.now();
    let e = this.entries.get(address);
    if (e) this.entries.delete(address);
    else e = { failures: [], blockedUntil: 0 };
    // Re-inserted: the map's order is least recently failed first, the order they are forgotten in.
    this.entries.set(address, e);
    e.failures = e.failures.filter((t) => now - t < this.limits.windowMs);
    e.failures.push(now);
    if (e.failures.length > this.limits.maxFailures) e.failures.shift();
    let started = false;
    if (e.failures.length >= this.limits.maxFailures && e.blockedUntil <= now) {
      e.blockedUntil = now + this.limits.blockMs;
      e.failures = [];
      started = true;
    }
    this.forgetOld(now);
    return started;
  }

  private forgetOld(now: number): void {
    if (this.entries.size <= MAX_ADDRESSES) return;
    for (const [address, e] of this.entries) {
      if (this.entries.size <= MAX_ADDRESSES) return;
      // Blocked addresses go last only when nothing else can.
      if (e.blockedUntil <= now) this.entries.delete(address);
    }
    for (const address of this.entries.keys()) {
      if (this.entries.size <= MAX_ADDRESSES) return;
      this.entries.delete(address);
    }
  }
}
