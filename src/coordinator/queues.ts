import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { QueueView } from '../protocol/messages.js';
import type { JobStore } from '../store/store.js';
import { Cached } from './wait-reason.js';

const NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** Pausing and resuming queues (`drover queue pause|resume`): a paused queue leases nothing; what runs goes on. */
export class Queues {
  /** The paused queues' names, read at most once a second for wait reasons (a pause here shows at once). */
  readonly paused: Cached<Set<string>>;

  constructor(
    private readonly o: {
      store: JobStore;
      clock: Clock;
      /** A resumed queue's jobs may be claimable at once. */
      notifyWork: () => void;
    },
  ) {
    this.paused = new Cached(1_000, o.clock, async () => new Set((await o.store.pausedQueues()).map((p) => p.queue)));
  }

  /** Every queue with jobs or paused, by name. */
  async list(): Promise<QueueView[]> {
    const [counts, paused] = await Promise.all([this.o.store.countsByQueue({}), this.o.store.pausedQueues()]);
    const pausedAt = new Map(paused.map((p) => [p.queue, p.pausedAt]));
    const names = [...new Set([...Object.keys(counts), ...pausedAt.keys()])].sort();
    return names.map((name) => ({ name, paused: pausedAt.has(name), pausedAt: pausedAt.get(name) ?? null, counts: counts[name] ?? {} }));
  }

  /** Pauses or resumes `name` (a queue need not have jobs yet); returns it as it is now. */
  async setPaused(name: string, paused: boolean): Promise<QueueView> {
    if (!NAME.test(name)) throw new ValidationError(`name: a queue name is letters, digits and _ . : @ - only, at most 128, got "${name}"`, 'name');
    await this.o.store.setQueuePaused({ queue: name, paused, now: this.o.clock.now() });
    this.paused.forget();
    if (!paused) this.o.notifyWork();
    return (await this.list()).find((q) => q.name === name) ?? { name, paused, pausedAt: null, counts: {} };
  }
}
