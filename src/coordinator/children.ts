import type { Clock } from '../core/clock.js';
import { errorMessage, ValidationError } from '../core/errors.js';
import type { Job } from '../core/job.js';
import type { CompleteItem } from '../core/reports.js';
import type { JobStore, ResolvedNewJob, SettleItem } from '../store/store.js';
import { CANCELED_WITH_CHILDREN } from '../store/transitions.js';
import type { Metrics } from './metrics.js';
import type { KeyedWakeups } from './wakeups.js';

/** At most this many children from one job's attempt. */
export const MAX_CHILDREN = 10_000;
/** A cancel's stop orders go this many generations down a tree (deeper ones are told by their leases' next heartbeat). */
const MAX_DEPTH = 8;

export interface FamiliesOptions {
  store: JobStore;
  clock: Clock;
  metrics: Metrics;
  /** Checks job specs as `POST /jobs` does. */
  validate: (inputs: unknown[]) => ResolvedNewJob[];
  /** Seals the children's secret params before they reach the store (secret-params.ts). */
  seal: (jobs: ResolvedNewJob[]) => ResolvedNewJob[];
  /** Per job: woken when its state changes. */
  jobChanged: KeyedWakeups;
  /** Per worker: woken when it holds a job it must stop. */
  stops: KeyedWakeups;
}

/**
 * Jobs that wait for the child jobs their attempt made: the children checked as they arrive,
 * the parents ended when their last child has, and a cancel's stop orders sent down the tree.
 */
export class Families {
  constructor(private readonly o: FamiliesOptions) {}

  /**
   * A report's children checked as `POST /jobs` checks jobs, each made the parent's: its owner
   * always; unless the child gives them, the parent's queue, priority, tags, attempts, backoff
   * and node (the worker that planned them may not know these); and, for a child of the
   * parent's own kind and template, its time limit and concurrency key. A child that cannot be
   * right fails the parent (not retried), naming it; nothing is created then.
   */
  async withChildren(it: CompleteItem): Promise<SettleItem> {
    const { children, ...rest } = it;
    if (!children?.length || it.outcome !== 'succeeded') return rest;
    const parent = await this.o.store.get(it.id);
    if (!parent) return rest;
    try {
      if (children.length > MAX_CHILDREN) throw new ValidationError(`children: at most ${MAX_CHILDREN} per job`, 'children');
      const specs = children.map((c) => ({ ...inherited(parent, c as Record<string, unknown>), ...(c as object), owner: parent.owner }));
      return { ...rest, children: this.o.seal(this.o.validate(specs).map((j) => ({ ...j, parentId: parent.id }))) };
    } catch (err) {
      return { ...rest, outcome: 'failed', retryable: false, error: `its child jobs cannot be made: ${errorMessage(err)}` };
    }
  }

  /** Ends the parents whose children have all ended (up the tree), and tells who waits on them; returns those it ended. */
  async settle(ids?: string[]): Promise<Job[]> {
    const ended = await this.o.store.settleParents({ ...(ids ? { ids } : {}), now: this.o.clock.now() });
    for (const j of ended) {
      this.o.metrics.finished.inc({ state: j.state });
      this.o.jobChanged.notify(j.id);
    }
    return ended;
  }

  /** After a cancel: a parent canceled with its children has their workers told to stop. */
  async canceled(job: Job): Promise<void> {
    if (job.state === 'canceled' && job.error === CANCELED_WITH_CHILDREN) await this.notifyStopsBelow(job.id, 0);
  }

  /** Wakes the stop long polls of the workers holding `id`'s descendants (a cancel went down its tree). */
  private async notifyStopsBelow(id: string, depth: number): Promise<void> {
    if (depth >= MAX_DEPTH) return;
    for (let cursor: string | null | undefined; cursor !== null; ) {
      const page = await this.o.store.list({ parent: id, limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const c of page.jobs) {
        this.o.jobChanged.notify(c.id);
        if (c.state === 'running' && c.lease) this.o.stops.notify(c.lease.worker);
        if (c.state === 'canceled') await this.notifyStopsBelow(c.id, depth + 1);
      }
      cursor = page.nextCursor;
    }
  }
}

/** What a child takes of its parent unless it gives it (see withChildren). */
function inherited(parent: Job, child: Record<string, unknown>): Record<string, unknown> {
  const same = (child.kind ?? parent.kind) === parent.kind && (child.template ?? null) === parent.template;
  return {
    queue: parent.queue,
    priority: parent.priority,
    tags: parent.tags,
    maxAttempts: parent.maxAttempts,
    backoff: `${parent.backoffMs}ms`,
    node: parent.node,
    ...(same && parent.timeLimitMs !== null ? { timeLimit: `${parent.timeLimitMs}ms` } : {}),
    ...(same && !('concurrencyKey' in child) ? { concurrencyKey: parent.concurrencyKey, concurrencyLimit: parent.concurrencyLimit } : {}),
  };
}
