/**
 * What every area of the JobStore contract shares: a fresh store per test and helpers that talk
 * to it only through the `JobStore` interface, with `now` passed explicitly (fixed epoch numbers,
 * never the wall clock, never a sleep).
 *
 * Ordering assumptions are only the documented ones: `list` is ascending by id. Everything else
 * that comes back as a set (claims, reaped jobs, workers, stops) is sorted before comparing.
 * Ids are lowercase letters and digits of one fixed width so every collation sorts them alike.
 */
import { expect } from 'vitest';
import { JOB_STATES, type Job, type JobState } from '../../../src/core/job.js';
import type { ClaimParams, JobStore, ResolvedNewJob } from '../../../src/store/store.js';

/** What `open` hands the suite: an empty store, a cleanup that closes it and frees its storage. */
export interface OpenedStore {
  store: JobStore;
  cleanup: () => Promise<void>;
  /** Another store on the same database, as a second coordinator would open it (closed by `cleanup`). */
  another(): Promise<JobStore>;
}

/** A fixed "now" for every test: 2023-11-14T22:13:20Z. */
export const T0 = 1_700_000_000_000;
export const LEASE = 30_000;

/** A resolved job with every field given, due at T0. */
export function jobFixture(id: string, over: Partial<ResolvedNewJob> = {}): ResolvedNewJob {
  return {
    id,
    queue: 'default',
    kind: 'noop',
    template: null,
    params: {},
    secrets: [],
    owner: null,
    tags: [],
    priority: 0,
    runAt: T0,
    maxAttempts: 3,
    backoffMs: 5_000,
    parentId: null,
    backoffMaxMs: 600_000,
    timeLimitMs: null,
    concurrencyKey: null,
    concurrencyLimit: null,
    node: null,
    ...over,
  };
}

/** The store under test (set before each test) and the helpers every area uses. */
export class Harness {
  store!: JobStore;
  /** Another store on the same database (leadership). */
  another!: () => Promise<JobStore>;
  private counter = 0;

  reset(opened: OpenedStore): void {
    this.store = opened.store;
    this.another = opened.another;
    this.counter = 0;
  }

  /** A resolved job with every field given; ids j0001, j0002, ... unless `id` is set. */
  job = (over: Partial<ResolvedNewJob> = {}): ResolvedNewJob => jobFixture(`j${String(++this.counter).padStart(4, '0')}`, over);

  enqueue = (...jobs: Array<Partial<ResolvedNewJob>>): Promise<Job[]> => this.store.enqueue({ jobs: jobs.map((j) => this.job(j)), now: T0 });

  enqueueOne = async (over: Partial<ResolvedNewJob> = {}): Promise<Job> => {
    const [j] = await this.enqueue(over);
    if (!j) throw new Error('enqueue returned nothing');
    return j;
  };

  claim = (over: Partial<ClaimParams> = {}): Promise<Job[]> =>
    this.store.claim({ worker: 'w1', kinds: ['noop'], templates: [], queues: [], limit: 10, leaseMs: LEASE, now: T0, ...over });

  /** Claims exactly one job (the store must hand out the given one) and returns it. */
  claimOne = async (over: Partial<ClaimParams> = {}): Promise<Job> => {
    const jobs = await this.claim({ limit: 1, ...over });
    expect(jobs).toHaveLength(1);
    return jobs[0] as Job;
  };

  mustGet = async (id: string): Promise<Job> => {
    const j = await this.store.get(id);
    if (!j) throw new Error(`job ${id} is gone`);
    return j;
  };

  tokenOf = (j: Job): string => {
    if (!j.lease) throw new Error(`job ${j.id} has no lease`);
    return j.lease.token;
  };

  ids = (jobs: Array<{ id: string }>): string[] => jobs.map((j) => j.id);
  sortedIds = (jobs: Array<{ id: string }>): string[] => this.ids(jobs).sort();
  zeroCounts = (): Record<JobState, number> => Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
}
