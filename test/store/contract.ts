/**
 * The JobStore contract: one suite every storage backend must pass unchanged (River's
 * `riverdrivertest.Exercise` idea). It talks to the store only through the `JobStore`
 * interface, passes `now` explicitly (fixed epoch numbers, never the wall clock, never a sleep)
 * and asserts the domain errors of `core/errors.ts`.
 *
 * Ordering assumptions are only the documented ones: `list` is ascending by id. Everything else
 * that comes back as a set (claims, reaped jobs, workers, stops) is sorted before comparing.
 * Ids are lowercase letters and digits of one fixed width so every collation sorts them alike.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/core/backoff.js';
import { ConflictError, NotFoundError } from '../../src/core/errors.js';
import { JOB_STATES, type Job, type JobState } from '../../src/core/job.js';
import type { ClaimParams, JobStore, ResolvedNewJob, WorkerInfo } from '../../src/store/store.js';

/** What `open` hands the suite: an empty store, and a cleanup that closes it and frees its storage. */
export interface OpenedStore {
  store: JobStore;
  cleanup: () => Promise<void>;
}

/** A fixed "now" for every test: 2023-11-14T22:13:20Z. */
export const T0 = 1_700_000_000_000;

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
    backoffMaxMs: 600_000,
    timeLimitMs: null,
    concurrencyKey: null,
    concurrencyLimit: null,
    ...over,
  };
}
const LEASE = 30_000;

/** Runs the whole contract against the backend `open` creates: a fresh, empty store per test. */
export function runStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`JobStore contract: ${name}`, () => {
    let store: JobStore;
    let cleanup: (() => Promise<void>) | undefined;
    let counter = 0;

    beforeEach(async () => {
      counter = 0;
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    /** A resolved job with every field given; ids j0001, j0002, ... unless `id` is set. */
    function job(over: Partial<ResolvedNewJob> = {}): ResolvedNewJob {
      return jobFixture(`j${String(++counter).padStart(4, '0')}`, over);
    }

    async function enqueue(...jobs: Array<Partial<ResolvedNewJob>>): Promise<Job[]> {
      return store.enqueue({ jobs: jobs.map((j) => job(j)), now: T0 });
    }

    async function enqueueOne(over: Partial<ResolvedNewJob> = {}): Promise<Job> {
      const [j] = await enqueue(over);
      if (!j) throw new Error('enqueue returned nothing');
      return j;
    }

    function claim(over: Partial<ClaimParams> = {}): Promise<Job[]> {
      return store.claim({ worker: 'w1', kinds: ['noop'], templates: [], queues: [], limit: 10, leaseMs: LEASE, now: T0, ...over });
    }

    /** Claims exactly one job (the store must hand out the given one) and returns it. */
    async function claimOne(over: Partial<ClaimParams> = {}): Promise<Job> {
      const jobs = await claim({ limit: 1, ...over });
      expect(jobs).toHaveLength(1);
      return jobs[0] as Job;
    }

    async function mustGet(id: string): Promise<Job> {
      const j = await store.get(id);
      if (!j) throw new Error(`job ${id} is gone`);
      return j;
    }

    function tokenOf(j: Job): string {
      if (!j.lease) throw new Error(`job ${j.id} has no lease`);
      return j.lease.token;
    }

    const ids = (jobs: Array<{ id: string }>) => jobs.map((j) => j.id);
    const sortedIds = (jobs: Array<{ id: string }>) => ids(jobs).sort();
    const zeroCounts = (): Record<JobState, number> => Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;

    // ---------------------------------------------------------------------------------------
    describe('enqueue', () => {
      it('stores every field exactly as given and returns the stored job', async () => {
        const input = job({
          queue: 'media',
          kind: 'exec',
          template: 'hik-download',
          params: { camera: 'cam 1', channel: 101, audio: false, ratio: 1.5, password: 's3cret' },
          secrets: ['password'],
          owner: 'alice',
          tags: ['nvr-1', 'night', 'b'],
          priority: 7,
          runAt: T0 - 5_000,
          maxAttempts: 5,
          backoffMs: 1_234,
          backoffMaxMs: 98_765,
          timeLimitMs: 60_000,
          concurrencyKey: '10.0.0.5',
          concurrencyLimit: 2,
        });
        const [created] = await store.enqueue({ jobs: [input], now: T0 });
        const expected: Job = {
          ...input,
          state: 'queued',
          attempt: 0,
          lease: null,
          stopReason: null,
          progress: null,
          result: null,
          error: null,
          createdAt: T0,
          updatedAt: T0,
          startedAt: null,
          finishedAt: null,
        };
        expect(created).toEqual(expected);
        // Unredacted: secret params come back as given (redaction is the API's job).
        expect(await store.get(input.id)).toEqual(expected);
      });

      it('keeps null and empty values and a negative priority as given', async () => {
        const input = job({ priority: -3, params: {}, tags: [], secrets: [], owner: null, template: null, timeLimitMs: null });
        await store.enqueue({ jobs: [input], now: T0 });
        const got = await mustGet(input.id);
        expect(got).toMatchObject({
          priority: -3,
          params: {},
          tags: [],
          secrets: [],
          owner: null,
          template: null,
          timeLimitMs: null,
          concurrencyKey: null,
          concurrencyLimit: null,
        });
      });

      it('makes a job waiting when runAt is in the future and queued when it is now or past', async () => {
        const [future, present, past] = await enqueue({ runAt: T0 + 1 }, { runAt: T0 }, { runAt: T0 - 60_000 });
        expect(future?.state).toBe('waiting');
        expect(present?.state).toBe('queued');
        expect(past?.state).toBe('queued');
        expect((await mustGet(future!.id)).state).toBe('waiting');
        expect((await mustGet(present!.id)).state).toBe('queued');
        expect((await mustGet(past!.id)).runAt).toBe(T0 - 60_000);
      });

      it('returns the jobs in input order', async () => {
        const out = await store.enqueue({ jobs: [job({ id: 'c0003' }), job({ id: 'a0001' }), job({ id: 'b0002' })], now: T0 });
        expect(ids(out)).toEqual(['c0003', 'a0001', 'b0002']);
      });

      it('returns [] for an empty batch', async () => {
        expect(await store.enqueue({ jobs: [], now: T0 })).toEqual([]);
        expect((await store.list({})).jobs).toEqual([]);
      });

      it('inserts nothing when a batch holds a duplicate id', async () => {
        const batch = [job({ id: 'dup00001' }), job({ id: 'oth00002' }), job({ id: 'dup00001', queue: 'other' })];
        await expect(store.enqueue({ jobs: batch, now: T0 })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.get('dup00001')).toBeNull();
        expect(await store.get('oth00002')).toBeNull();
        expect((await store.list({})).jobs).toEqual([]);
      });

      it('inserts nothing when an id already exists, and leaves the existing job alone', async () => {
        const existing = await enqueueOne({ id: 'old00001', owner: 'alice' });
        const batch = [job({ id: 'new00002' }), job({ id: 'old00001', owner: 'mallory' })];
        await expect(store.enqueue({ jobs: batch, now: T0 + 1 })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.get('new00002')).toBeNull();
        expect(await store.get('old00001')).toEqual(existing);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('get and list', () => {
      it('get of an unknown id is null', async () => {
        expect(await store.get('nosuchjob')).toBeNull();
        await enqueueOne();
        expect(await store.get('nosuchjob')).toBeNull();
      });

      it('lists every job ascending by id, with no cursor when all fit', async () => {
        await store.enqueue({ jobs: [job({ id: 'm0002' }), job({ id: 'z0003' }), job({ id: 'a0001' })], now: T0 });
        const page = await store.list({});
        expect(ids(page.jobs)).toEqual(['a0001', 'm0002', 'z0003']);
        expect(page.nextCursor).toBeNull();
        expect(page.jobs[0]).toEqual(await store.get('a0001'));
      });

      /**
       * a: default/noop, alice, [x], queued           e: default/noop, bob, succeeded at T0+100
       * b: media/exec(dl), bob, [x,y], queued         f: media/exec(dl), alice, [y], failed at T0+200
       * c: media/ffmpeg, alice, waiting               g: default/noop, canceled at T0+300
       * d: default/noop, [y], running
       */
      async function population(): Promise<void> {
        await store.enqueue({
          now: T0,
          jobs: [
            job({ id: 'pd', tags: ['y'] }),
            job({ id: 'pe', owner: 'bob' }),
            job({ id: 'pf', queue: 'media', kind: 'exec', template: 'dl', owner: 'alice', tags: ['y'], maxAttempts: 1 }),
          ],
        });
        const running = await claim({ kinds: ['noop'], templates: ['dl'], limit: 3 });
        expect(sortedIds(running)).toEqual(['pd', 'pe', 'pf']);
        const tok = (id: string) => tokenOf(running.find((j) => j.id === id)!);
        await store.complete({ items: [{ id: 'pe', token: tok('pe'), outcome: 'succeeded' }], now: T0 + 100 });
        await store.complete({ items: [{ id: 'pf', token: tok('pf'), outcome: 'failed', error: 'boom', retryable: false }], now: T0 + 200 });
        await store.enqueue({
          now: T0,
          jobs: [
            job({ id: 'pa', owner: 'alice', tags: ['x'] }),
            job({ id: 'pb', queue: 'media', kind: 'exec', template: 'dl', owner: 'bob', tags: ['x', 'y'] }),
            job({ id: 'pc', queue: 'media', kind: 'ffmpeg', owner: 'alice', runAt: T0 + 3_600_000 }),
            job({ id: 'pg' }),
          ],
        });
        await store.cancel({ id: 'pg', now: T0 + 300 });
      }

      async function listIds(f: Parameters<JobStore['list']>[0]): Promise<string[]> {
        const page = await store.list(f);
        expect(page.nextCursor).toBeNull();
        return ids(page.jobs);
      }

      it('filters by a list of states', async () => {
        await population();
        expect(await listIds({ state: ['queued'] })).toEqual(['pa', 'pb']);
        expect(await listIds({ state: ['queued', 'waiting'] })).toEqual(['pa', 'pb', 'pc']);
        expect(await listIds({ state: ['running'] })).toEqual(['pd']);
        expect(await listIds({ state: ['succeeded', 'failed', 'canceled'] })).toEqual(['pe', 'pf', 'pg']);
        expect(await listIds({ state: ['timed_out'] })).toEqual([]);
        expect(await listIds({})).toEqual(['pa', 'pb', 'pc', 'pd', 'pe', 'pf', 'pg']);
      });

      it('filters by queue, owner, tag, template and kind', async () => {
        await population();
        expect(await listIds({ queue: 'media' })).toEqual(['pb', 'pc', 'pf']);
        expect(await listIds({ queue: 'nosuch' })).toEqual([]);
        expect(await listIds({ owner: 'alice' })).toEqual(['pa', 'pc', 'pf']);
        expect(await listIds({ owner: 'bob' })).toEqual(['pb', 'pe']);
        expect(await listIds({ tag: 'x' })).toEqual(['pa', 'pb']);
        expect(await listIds({ tag: 'y' })).toEqual(['pb', 'pd', 'pf']);
        expect(await listIds({ tag: 'z' })).toEqual([]);
        expect(await listIds({ template: 'dl' })).toEqual(['pb', 'pf']);
        expect(await listIds({ kind: 'exec' })).toEqual(['pb', 'pf']);
        expect(await listIds({ kind: 'noop' })).toEqual(['pa', 'pd', 'pe', 'pg']);
      });

      it('filters by finishedSince (inclusive), leaving out unfinished jobs', async () => {
        await population();
        expect(await listIds({ finishedSince: T0 })).toEqual(['pe', 'pf', 'pg']);
        expect(await listIds({ finishedSince: T0 + 100 })).toEqual(['pe', 'pf', 'pg']);
        expect(await listIds({ finishedSince: T0 + 101 })).toEqual(['pf', 'pg']);
        expect(await listIds({ finishedSince: T0 + 300 })).toEqual(['pg']);
        expect(await listIds({ finishedSince: T0 + 301 })).toEqual([]);
      });

      it('combines filters with AND', async () => {
        await population();
        expect(await listIds({ queue: 'media', owner: 'alice' })).toEqual(['pc', 'pf']);
        expect(await listIds({ state: ['queued'], tag: 'x' })).toEqual(['pa', 'pb']);
        expect(await listIds({ state: ['queued', 'failed'], tag: 'y', template: 'dl' })).toEqual(['pb', 'pf']);
        expect(await listIds({ queue: 'default', state: ['running', 'canceled'] })).toEqual(['pd', 'pg']);
        expect(await listIds({ kind: 'noop', owner: 'bob', finishedSince: T0 })).toEqual(['pe']);
      });

      it('pages with a cursor over more jobs than the limit, without gaps or repeats', async () => {
        const all = await store.enqueue({ jobs: Array.from({ length: 25 }, () => job()), now: T0 });
        const p1 = await store.list({ limit: 10 });
        expect(p1.jobs).toHaveLength(10);
        expect(p1.nextCursor).not.toBeNull();
        const p2 = await store.list({ limit: 10, cursor: p1.nextCursor! });
        expect(p2.jobs).toHaveLength(10);
        expect(p2.nextCursor).not.toBeNull();
        const p3 = await store.list({ limit: 10, cursor: p2.nextCursor! });
        expect(p3.jobs).toHaveLength(5);
        expect(p3.nextCursor).toBeNull();
        expect([...ids(p1.jobs), ...ids(p2.jobs), ...ids(p3.jobs)]).toEqual(sortedIds(all));
      });

      it('gives no cursor on a full last page', async () => {
        const all = await store.enqueue({ jobs: Array.from({ length: 20 }, () => job()), now: T0 });
        const p1 = await store.list({ limit: 10 });
        expect(p1.nextCursor).not.toBeNull();
        const p2 = await store.list({ limit: 10, cursor: p1.nextCursor! });
        expect(p2.jobs).toHaveLength(10);
        expect(p2.nextCursor).toBeNull();
        expect([...ids(p1.jobs), ...ids(p2.jobs)]).toEqual(sortedIds(all));
      });

      it('pages through a filtered list', async () => {
        const all = await store.enqueue({
          jobs: Array.from({ length: 31 }, (_, i) => job({ queue: i % 2 === 0 ? 'even' : 'odd' })),
          now: T0,
        });
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; ; pages++) {
          expect(pages).toBeLessThan(10);
          const page = await store.list({ queue: 'even', limit: 4, ...(cursor ? { cursor } : {}) });
          expect(page.jobs.length).toBeLessThanOrEqual(4);
          for (const j of page.jobs) expect(j.queue).toBe('even');
          seen.push(...ids(page.jobs));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        expect(seen).toEqual(sortedIds(all.filter((j) => j.queue === 'even')));
        expect(seen).toHaveLength(16);
      });

      it('a cursor past the last id gives an empty page', async () => {
        await enqueue({}, {});
        expect(await store.list({ cursor: 'zzzzzzzz' })).toEqual({ jobs: [], nextCursor: null });
      });

      it('defaults the page size to 100 and caps it at 1000', async () => {
        const all = await store.enqueue({ jobs: Array.from({ length: 1001 }, (_, i) => job({ id: `k${String(i).padStart(5, '0')}` })), now: T0 });
        const byDefault = await store.list({});
        expect(byDefault.jobs).toHaveLength(100);
        expect(byDefault.nextCursor).not.toBeNull();
        const capped = await store.list({ limit: 5_000 });
        expect(capped.jobs).toHaveLength(1000);
        expect(capped.nextCursor).not.toBeNull();
        const rest = await store.list({ limit: 5_000, cursor: capped.nextCursor! });
        expect(ids(rest.jobs)).toEqual([all[1000]!.id]);
        expect(rest.nextCursor).toBeNull();
      });

      it('counts jobs per state, every state present', async () => {
        expect(await store.counts({})).toEqual(zeroCounts());
        await population();
        expect(await store.counts({})).toEqual({ ...zeroCounts(), queued: 2, waiting: 1, running: 1, succeeded: 1, failed: 1, canceled: 1 });
      });

      it('counts with queue, owner, tag, template, kind and finishedSince filters', async () => {
        await population();
        expect(await store.counts({ queue: 'media' })).toEqual({ ...zeroCounts(), queued: 1, waiting: 1, failed: 1 });
        expect(await store.counts({ owner: 'alice' })).toEqual({ ...zeroCounts(), queued: 1, waiting: 1, failed: 1 });
        expect(await store.counts({ tag: 'y' })).toEqual({ ...zeroCounts(), queued: 1, running: 1, failed: 1 });
        expect(await store.counts({ template: 'dl' })).toEqual({ ...zeroCounts(), queued: 1, failed: 1 });
        expect(await store.counts({ kind: 'noop' })).toEqual({ ...zeroCounts(), queued: 1, running: 1, succeeded: 1, canceled: 1 });
        expect(await store.counts({ finishedSince: T0 + 150 })).toEqual({ ...zeroCounts(), failed: 1, canceled: 1 });
        expect(await store.counts({ queue: 'default', owner: 'bob' })).toEqual({ ...zeroCounts(), succeeded: 1 });
        expect(await store.counts({ queue: 'nosuch' })).toEqual(zeroCounts());
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('claim', () => {
      it('starts a queued job: running, attempt 1, lease and start time set', async () => {
        const created = await enqueueOne({ timeLimitMs: 60_000 });
        const now = T0 + 1_000;
        const claimed = await claimOne({ worker: 'w-a', leaseMs: 15_000, now });
        expect(claimed).toMatchObject({
          id: created.id,
          state: 'running',
          attempt: 1,
          startedAt: now,
          updatedAt: now,
          finishedAt: null,
          stopReason: null,
          createdAt: T0,
        });
        expect(claimed.lease).toEqual({ worker: 'w-a', token: expect.any(String), expiresAt: now + 15_000 });
        expect(tokenOf(claimed).length).toBeGreaterThanOrEqual(8);
        expect(await store.get(created.id)).toEqual(claimed);
        expect(await store.attempts({ jobId: created.id })).toEqual([
          { jobId: created.id, attempt: 1, worker: 'w-a', startedAt: now, endedAt: null, outcome: null, error: null },
        ]);
      });

      it('hands a job to one worker only', async () => {
        await enqueueOne();
        await claimOne({ worker: 'w1' });
        expect(await claim({ worker: 'w2' })).toEqual([]);
        expect(await claim({ worker: 'w1' })).toEqual([]);
      });

      it('gives distinct claims distinct lease tokens', async () => {
        await enqueue({}, {});
        const a = await claimOne({ worker: 'w1' });
        const b = await claimOne({ worker: 'w2' });
        expect(tokenOf(a)).not.toBe(tokenOf(b));
      });

      it('claims by priority DESC, then runAt, then id', async () => {
        await store.enqueue({
          now: T0,
          jobs: [
            job({ id: 'o0001', priority: 0, runAt: T0 - 10 }),
            job({ id: 'o0002', priority: 5, runAt: T0 }),
            job({ id: 'o0004', priority: 5, runAt: T0 - 100 }),
            job({ id: 'o0003', priority: 5, runAt: T0 - 100 }),
            job({ id: 'o0005', priority: -1, runAt: T0 - 1_000 }),
            job({ id: 'o0006', priority: 0, runAt: T0 - 20 }),
          ],
        });
        const order: string[] = [];
        for (let i = 0; i < 6; i++) order.push((await claimOne()).id);
        expect(order).toEqual(['o0003', 'o0004', 'o0002', 'o0006', 'o0001', 'o0005']);
        expect(await claim()).toEqual([]);
      });

      it('takes the best `limit` jobs in one claim', async () => {
        await store.enqueue({
          now: T0,
          jobs: [
            job({ id: 'q0001', priority: 1 }),
            job({ id: 'q0002', priority: 9 }),
            job({ id: 'q0003', priority: 3 }),
            job({ id: 'q0004', priority: 9, runAt: T0 - 1 }),
            job({ id: 'q0005', priority: 0 }),
          ],
        });
        expect(sortedIds(await claim({ limit: 3 }))).toEqual(['q0002', 'q0003', 'q0004']);
        expect(sortedIds(await claim({ limit: 3 }))).toEqual(['q0001', 'q0005']);
      });

      it('does not claim waiting, running or finished jobs', async () => {
        const [waiting, done] = await enqueue({ runAt: T0 + 60_000 }, { priority: 1 });
        const first = await claimOne();
        expect(first.id).toBe(done!.id);
        await store.complete({ items: [{ id: first.id, token: tokenOf(first), outcome: 'succeeded' }], now: T0 });
        expect(await claim({ now: T0 + 1_000 })).toEqual([]);
        expect((await mustGet(waiting!.id)).state).toBe('waiting');
      });

      it('matches kinds for jobs without a template and templates for jobs with one', async () => {
        await store.enqueue({
          now: T0,
          jobs: [
            job({ id: 'c0001', kind: 'noop' }),
            job({ id: 'c0002', kind: 'ffmpeg' }),
            job({ id: 'c0003', kind: 'exec', template: 'dl' }),
            job({ id: 'c0004', kind: 'exec', template: 'convert' }),
          ],
        });
        // Running the `exec` kind is not enough for a template job: the worker must list the template.
        expect(ids(await claim({ worker: 'wa', kinds: ['exec', 'noop'], templates: [] }))).toEqual(['c0001']);
        // A template named like a kind does not claim jobs of that kind.
        expect(await claim({ worker: 'wb', kinds: [], templates: ['ffmpeg', 'noop'] })).toEqual([]);
        expect(ids(await claim({ worker: 'wb', kinds: [], templates: ['dl'] }))).toEqual(['c0003']);
        expect(sortedIds(await claim({ worker: 'wc', kinds: ['ffmpeg'], templates: ['convert', 'other'] }))).toEqual(['c0002', 'c0004']);
        expect(await claim({ worker: 'wd', kinds: [], templates: [] })).toEqual([]);
      });

      it('takes only from the given queues, and from all when the list is empty', async () => {
        await store.enqueue({
          now: T0,
          jobs: [job({ id: 'u0001', queue: 'a' }), job({ id: 'u0002', queue: 'b' }), job({ id: 'u0003', queue: 'c' }), job({ id: 'u0004', queue: 'b' })],
        });
        expect(sortedIds(await claim({ queues: ['a', 'c'] }))).toEqual(['u0001', 'u0003']);
        expect(await claim({ queues: ['nosuch'] })).toEqual([]);
        expect(sortedIds(await claim({ queues: [] }))).toEqual(['u0002', 'u0004']);
      });

      it('claims at most `limit` jobs, and nothing with limit 0', async () => {
        await enqueue({}, {}, {}, {}, {});
        expect(await claim({ limit: 0 })).toEqual([]);
        expect((await store.counts({})).queued).toBe(5);
        expect(await claim({ limit: 2 })).toHaveLength(2);
        expect(await claim({ limit: 2 })).toHaveLength(2);
        expect(await claim({ limit: 2 })).toHaveLength(1);
        expect(await claim({ limit: 2 })).toEqual([]);
      });

      it('never exceeds a concurrency key limit within one claim, and still claims unkeyed jobs', async () => {
        await enqueue(
          ...Array.from({ length: 5 }, () => ({ concurrencyKey: 'nvr-1', concurrencyLimit: 2, priority: 5 })),
          { priority: 0 },
          { priority: 0 },
        );
        const got = await claim({ limit: 10 });
        expect(got.filter((j) => j.concurrencyKey === 'nvr-1')).toHaveLength(2);
        expect(got.filter((j) => j.concurrencyKey === null)).toHaveLength(2);
        expect((await store.counts({})).queued).toBe(3);
      });

      it('never exceeds a concurrency key limit across successive claims and workers', async () => {
        await enqueue(...Array.from({ length: 5 }, () => ({ concurrencyKey: 'nvr-1', concurrencyLimit: 2 })));
        const runningOfKey = async () => (await store.list({ state: ['running'] })).jobs.filter((j) => j.concurrencyKey === 'nvr-1');

        const first = await claim({ worker: 'w1', limit: 1 });
        const second = await claim({ worker: 'w2', limit: 10 });
        expect(first).toHaveLength(1);
        expect(second).toHaveLength(1);
        expect(await claim({ worker: 'w3', limit: 10 })).toEqual([]);
        expect(await runningOfKey()).toHaveLength(2);

        const done = first[0]!;
        await store.complete({ items: [{ id: done.id, token: tokenOf(done), outcome: 'succeeded' }], now: T0 + 10 });
        expect(await claim({ worker: 'w3', limit: 10, now: T0 + 20 })).toHaveLength(1);
        expect(await claim({ worker: 'w4', limit: 10, now: T0 + 20 })).toEqual([]);
        expect(await runningOfKey()).toHaveLength(2);
      });

      it('takes the best jobs it may run when a key fills up part way through a claim', async () => {
        const k = { concurrencyKey: 'nvr-3', concurrencyLimit: 2 };
        await store.enqueue({
          now: T0,
          jobs: [
            job({ id: 'r0001', priority: 10, ...k }),
            job({ id: 'r0002', priority: 9, ...k }),
            job({ id: 'r0003', priority: 8, ...k }),
            job({ id: 'r0004', priority: 7 }),
            job({ id: 'r0005', priority: 6, ...k }),
            job({ id: 'r0006', priority: 5 }),
            job({ id: 'r0007', priority: 4 }),
          ],
        });
        expect(sortedIds(await claim({ limit: 4 }))).toEqual(['r0001', 'r0002', 'r0004', 'r0006']);
        expect(sortedIds(await claim({ limit: 4 }))).toEqual(['r0007']);
      });

      it('counts each key separately', async () => {
        await enqueue(
          { concurrencyKey: 'host-a', concurrencyLimit: 1 },
          { concurrencyKey: 'host-a', concurrencyLimit: 1 },
          { concurrencyKey: 'host-b', concurrencyLimit: 1 },
          { concurrencyKey: 'host-b', concurrencyLimit: 1 },
        );
        const got = await claim({ limit: 10 });
        expect(got.map((j) => j.concurrencyKey).sort()).toEqual(['host-a', 'host-b']);
      });

      it('does not limit a key without a limit', async () => {
        await enqueue(...Array.from({ length: 3 }, () => ({ concurrencyKey: 'free', concurrencyLimit: null })));
        expect(await claim({ limit: 10 })).toHaveLength(3);
      });

      it('claims unkeyed jobs queued behind many keyed jobs whose key is full', async () => {
        // A long backlog for one NVR ahead of other work must not starve the rest of the batch.
        await enqueue(
          ...Array.from({ length: 100 }, () => ({ concurrencyKey: 'nvr-9', concurrencyLimit: 1, priority: 10 })),
          ...Array.from({ length: 3 }, () => ({ priority: 0 })),
        );
        const got = await claim({ limit: 4 });
        expect(got).toHaveLength(4);
        expect(got.filter((j) => j.concurrencyKey === 'nvr-9')).toHaveLength(1);
        // Next claim: the key is full in the store now.
        expect(await claim({ limit: 4 })).toEqual([]);
      });

      it('claims unkeyed jobs behind keyed jobs whose key is already full from earlier claims', async () => {
        await enqueue(...Array.from({ length: 50 }, () => ({ concurrencyKey: 'nvr-2', concurrencyLimit: 2, priority: 10 })));
        expect(await claim({ limit: 2 })).toHaveLength(2);
        await enqueue({ priority: 0 }, { priority: 0 });
        const got = await claim({ limit: 5 });
        expect(got).toHaveLength(2);
        expect(got.every((j) => j.concurrencyKey === null)).toBe(true);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('heartbeat', () => {
      it('renews the lease and stores progress', async () => {
        const j = await enqueueOne().then(() => claimOne());
        const progress = { bytes: 1_024, total: 4_096, speed: 512, eta: 6, percent: 25, message: 'downloading', fps: 25 };
        const answers = await store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j), progress }], leaseMs: 20_000, now: T0 + 10_000 });
        expect(answers).toEqual([{ id: j.id, status: 'ok', leaseExpiresAt: T0 + 30_000 }]);
        const got = await mustGet(j.id);
        expect(got.lease).toEqual({ worker: 'w1', token: tokenOf(j), expiresAt: T0 + 30_000 });
        expect(got.progress).toEqual(progress);
        expect(got.state).toBe('running');
      });

      it('keeps the last progress when a heartbeat carries none', async () => {
        const j = await enqueueOne().then(() => claimOne());
        await store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j), progress: { bytes: 10 } }], leaseMs: LEASE, now: T0 + 1 });
        await store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 2 });
        const got = await mustGet(j.id);
        expect(got.progress).toEqual({ bytes: 10 });
        expect(got.lease?.expiresAt).toBe(T0 + 2 + LEASE);
      });

      it('answers lost for a wrong token or an unknown job, and changes nothing', async () => {
        const j = await enqueueOne().then(() => claimOne());
        const before = await mustGet(j.id);
        const answers = await store.heartbeat({
          worker: 'w1',
          items: [
            { id: j.id, token: 'not-the-token', progress: { bytes: 99 } },
            { id: 'nosuchjob', token: tokenOf(j) },
          ],
          leaseMs: LEASE,
          now: T0 + 5_000,
        });
        expect(answers).toEqual([
          { id: j.id, status: 'lost' },
          { id: 'nosuchjob', status: 'lost' },
        ]);
        expect(await store.get(j.id)).toEqual(before);
      });

      it('answers one item per job, in order', async () => {
        await enqueue({}, {});
        const [a, b] = await claim({ limit: 2 });
        const answers = await store.heartbeat({
          worker: 'w1',
          items: [
            { id: b!.id, token: tokenOf(b!) },
            { id: a!.id, token: 'stale' },
            { id: a!.id, token: tokenOf(a!) },
          ],
          leaseMs: LEASE,
          now: T0 + 1,
        });
        expect(answers.map((x) => [x.id, x.status])).toEqual([
          [b!.id, 'ok'],
          [a!.id, 'lost'],
          [a!.id, 'ok'],
        ]);
      });

      it('answers stop with the reason after a cancel, still renewing the lease', async () => {
        const j = await enqueueOne().then(() => claimOne());
        await store.cancel({ id: j.id, now: T0 + 1_000 });
        const answers = await store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 2_000 });
        expect(answers).toEqual([{ id: j.id, status: 'stop', reason: 'canceled', leaseExpiresAt: T0 + 2_000 + LEASE }]);
        expect((await mustGet(j.id)).lease?.expiresAt).toBe(T0 + 2_000 + LEASE);
      });

      it('answers lost once the job is finished', async () => {
        const j = await enqueueOne().then(() => claimOne());
        await store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'succeeded' }], now: T0 + 1 });
        expect(await store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 2 })).toEqual([
          { id: j.id, status: 'lost' },
        ]);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('complete', () => {
      it('answers stale for a wrong token or unknown job, and changes nothing', async () => {
        const j = await enqueueOne().then(() => claimOne());
        const before = await mustGet(j.id);
        const answers = await store.complete({
          items: [
            { id: j.id, token: 'wrong', outcome: 'succeeded', result: { x: 1 } },
            { id: j.id, token: 'wrong', outcome: 'failed', error: 'boom' },
            { id: 'nosuchjob', token: tokenOf(j), outcome: 'succeeded' },
          ],
          now: T0 + 1_000,
        });
        expect(answers).toEqual([
          { id: j.id, status: 'stale' },
          { id: j.id, status: 'stale' },
          { id: 'nosuchjob', status: 'stale' },
        ]);
        expect(await store.get(j.id)).toEqual(before);
        expect(await store.attempts({ jobId: j.id })).toHaveLength(1);
      });

      it('records a success with its result and progress, and ends the lease', async () => {
        const j = await enqueueOne().then(() => claimOne());
        const answers = await store.complete({
          items: [{ id: j.id, token: tokenOf(j), outcome: 'succeeded', result: { files: ['a.mp4', 'b.mp4'], bytes: 10 }, progress: { percent: 100 } }],
          now: T0 + 5_000,
        });
        expect(answers).toEqual([{ id: j.id, status: 'ok', state: 'succeeded' }]);
        const got = await mustGet(j.id);
        expect(got).toMatchObject({
          state: 'succeeded',
          attempt: 1,
          result: { files: ['a.mp4', 'b.mp4'], bytes: 10 },
          progress: { percent: 100 },
          error: null,
          lease: null,
          stopReason: null,
          startedAt: T0,
          finishedAt: T0 + 5_000,
          updatedAt: T0 + 5_000,
        });
        expect(await store.attempts({ jobId: j.id })).toEqual([
          { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 5_000, outcome: 'succeeded', error: null },
        ]);
        // The same report again is stale: the token no longer holds the job.
        expect(await store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'succeeded' }], now: T0 + 6_000 })).toEqual([
          { id: j.id, status: 'stale' },
        ]);
        expect((await mustGet(j.id)).finishedAt).toBe(T0 + 5_000);
      });

      it('sends a failure with attempts left back to waiting with a backoff', async () => {
        const created = await enqueueOne({ maxAttempts: 3, backoffMs: 4_000, backoffMaxMs: 600_000 });
        const j = await claimOne();
        const now = T0 + 1_000;
        const random = () => 0.5;
        const answers = await store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', error: 'connection reset' }], now, random });
        expect(answers).toEqual([{ id: j.id, status: 'ok', state: 'waiting' }]);
        const got = await mustGet(j.id);
        const expectedRunAt = now + backoffDelay(1, 4_000, 600_000, () => 0.5);
        expect(got.runAt).toBe(expectedRunAt);
        expect(got.runAt).toBeGreaterThan(now);
        expect(got.runAt).toBeLessThanOrEqual(now + 4_000);
        expect(got).toMatchObject({ state: 'waiting', attempt: 1, error: 'connection reset', lease: null, finishedAt: null, createdAt: created.createdAt });
        expect(await store.nextDueAt()).toBe(expectedRunAt);
        expect(await store.attempts({ jobId: j.id })).toEqual([
          { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: now, outcome: 'failed', error: 'connection reset' },
        ]);

        // Not claimable before it is due; claimable after promotion, as attempt 2.
        expect(await claim({ now: expectedRunAt - 1 })).toEqual([]);
        expect(await store.promoteDue({ now: expectedRunAt })).toBe(1);
        const again = await claimOne({ worker: 'w2', now: expectedRunAt });
        expect(again.attempt).toBe(2);
        expect(again.error).toBeNull();
        expect(await store.attempts({ jobId: j.id })).toEqual([
          { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: now, outcome: 'failed', error: 'connection reset' },
          { jobId: j.id, attempt: 2, worker: 'w2', startedAt: expectedRunAt, endedAt: null, outcome: null, error: null },
        ]);
      });

      it('grows the backoff with the attempt number and caps it', async () => {
        await enqueueOne({ maxAttempts: 5, backoffMs: 1_000, backoffMaxMs: 1_500 });
        const random = () => 0.999;
        let now = T0;
        const delays: number[] = [];
        for (let attempt = 1; attempt <= 3; attempt++) {
          const j = await claimOne({ now });
          expect(j.attempt).toBe(attempt);
          await store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', error: `e${attempt}` }], now, random });
          const w = await mustGet(j.id);
          delays.push(w.runAt - now);
          expect(w.runAt - now).toBe(backoffDelay(attempt, 1_000, 1_500, random));
          now = w.runAt;
          await store.promoteDue({ now });
        }
        expect(delays[0]).toBeLessThanOrEqual(1_000);
        for (const d of delays) expect(d).toBeLessThanOrEqual(1_500);
        expect(delays[1]).toBeGreaterThan(delays[0]!);
      });

      it('fails at once when the failure is not retryable', async () => {
        const j = await enqueueOne({ maxAttempts: 5 }).then(() => claimOne());
        const answers = await store.complete({
          items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', error: 'HTTP 404', retryable: false }],
          now: T0 + 100,
        });
        expect(answers).toEqual([{ id: j.id, status: 'ok', state: 'failed' }]);
        expect(await mustGet(j.id)).toMatchObject({ state: 'failed', error: 'HTTP 404', finishedAt: T0 + 100, lease: null });
        expect(await store.attempts({ jobId: j.id })).toEqual([
          { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 100, outcome: 'failed', error: 'HTTP 404' },
        ]);
      });

      it('fails for good on the last attempt', async () => {
        await enqueueOne({ maxAttempts: 2, backoffMs: 100 });
        const a1 = await claimOne();
        await store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed', error: 'one' }], now: T0 + 10, random: () => 0 });
        await store.promoteDue({ now: T0 + 10_000 });
        const a2 = await claimOne({ now: T0 + 10_000 });
        expect(a2.attempt).toBe(2);
        const answers = await store.complete({ items: [{ id: a2.id, token: tokenOf(a2), outcome: 'failed', error: 'two' }], now: T0 + 10_010, random: () => 0 });
        expect(answers).toEqual([{ id: a2.id, status: 'ok', state: 'failed' }]);
        expect(await mustGet(a2.id)).toMatchObject({ state: 'failed', attempt: 2, error: 'two', finishedAt: T0 + 10_010 });
        const history = await store.attempts({ jobId: a2.id });
        expect(history.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
          [1, 'failed', 'one'],
          [2, 'failed', 'two'],
        ]);
      });

      it('records timed_out and canceled outcomes as final', async () => {
        await enqueue({ maxAttempts: 5 }, { maxAttempts: 5 });
        const [a, b] = await claim({ limit: 2 });
        const answers = await store.complete({
          items: [
            { id: a!.id, token: tokenOf(a!), outcome: 'timed_out', error: 'took too long' },
            { id: b!.id, token: tokenOf(b!), outcome: 'canceled' },
          ],
          now: T0 + 50,
        });
        expect(answers).toEqual([
          { id: a!.id, status: 'ok', state: 'timed_out' },
          { id: b!.id, status: 'ok', state: 'canceled' },
        ]);
        expect(await mustGet(a!.id)).toMatchObject({ state: 'timed_out', finishedAt: T0 + 50, lease: null });
        expect(await mustGet(b!.id)).toMatchObject({ state: 'canceled', finishedAt: T0 + 50, lease: null });
        expect((await store.attempts({ jobId: a!.id }))[0]?.outcome).toBe('timed_out');
      });

      it('ends a job asked to stop in the stop reason, whatever failure the worker reports', async () => {
        await enqueue({ maxAttempts: 5 }, { maxAttempts: 5 }, { maxAttempts: 5, timeLimitMs: 1_000 });
        const [a, b, c] = await claim({ limit: 3 });
        await store.cancel({ id: a!.id, now: T0 + 1 });
        await store.cancel({ id: b!.id, now: T0 + 1 });
        expect(ids(await store.markTimedOut({ now: T0 + 1_000 }))).toEqual([c!.id]);
        const answers = await store.complete({
          items: [
            { id: a!.id, token: tokenOf(a!), outcome: 'failed', error: 'killed by SIGTERM' },
            { id: b!.id, token: tokenOf(b!), outcome: 'canceled' },
            { id: c!.id, token: tokenOf(c!), outcome: 'failed', error: 'killed by SIGTERM' },
          ],
          now: T0 + 2_000,
        });
        expect(answers).toEqual([
          { id: a!.id, status: 'ok', state: 'canceled' },
          { id: b!.id, status: 'ok', state: 'canceled' },
          { id: c!.id, status: 'ok', state: 'timed_out' },
        ]);
        for (const id of [a!.id, b!.id, c!.id]) {
          const got = await mustGet(id);
          expect(got.stopReason).toBeNull();
          expect(got.lease).toBeNull();
          expect(got.finishedAt).toBe(T0 + 2_000);
        }
        expect(await store.stopsFor({ worker: 'w1' })).toEqual([]);
      });

      it('puts a released job back in the queue at once without counting the attempt', async () => {
        await enqueueOne({ maxAttempts: 1 });
        const j = await claimOne();
        const answers = await store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', release: true }], now: T0 + 500 });
        expect(answers).toEqual([{ id: j.id, status: 'ok', state: 'queued' }]);
        const got = await mustGet(j.id);
        expect(got).toMatchObject({ state: 'queued', lease: null, finishedAt: null });
        expect(got.runAt).toBeLessThanOrEqual(T0 + 500);
        expect((await store.attempts({ jobId: j.id })).map((a) => [a.attempt, a.outcome])).toEqual([[1, 'released']]);

        // The one real attempt is still available; after it fails the job is failed.
        const again = await claimOne({ worker: 'w2', now: T0 + 600 });
        await store.complete({ items: [{ id: again.id, token: tokenOf(again), outcome: 'failed', error: 'real' }], now: T0 + 700 });
        expect((await mustGet(j.id)).state).toBe('failed');
        expect((await store.attempts({ jobId: j.id })).map((a) => a.outcome)).toEqual(['released', 'failed']);
      });

      it('answers each item in order, a stale one not affecting the others', async () => {
        await enqueue({}, {}, {});
        const [a, b, c] = await claim({ limit: 3 });
        const answers = await store.complete({
          items: [
            { id: c!.id, token: tokenOf(c!), outcome: 'succeeded' },
            { id: a!.id, token: 'stale', outcome: 'succeeded' },
            { id: b!.id, token: tokenOf(b!), outcome: 'failed', retryable: false, error: 'x' },
          ],
          now: T0 + 1,
        });
        expect(answers).toEqual([
          { id: c!.id, status: 'ok', state: 'succeeded' },
          { id: a!.id, status: 'stale' },
          { id: b!.id, status: 'ok', state: 'failed' },
        ]);
        expect((await mustGet(a!.id)).state).toBe('running');
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('cancel', () => {
      it('cancels a queued job at once', async () => {
        const j = await enqueueOne();
        const out = await store.cancel({ id: j.id, now: T0 + 100 });
        expect(out).toMatchObject({ id: j.id, state: 'canceled', finishedAt: T0 + 100, lease: null, stopReason: null });
        expect(await store.get(j.id)).toEqual(out);
        expect(await claim()).toEqual([]);
      });

      it('cancels a waiting job at once', async () => {
        const j = await enqueueOne({ runAt: T0 + 60_000 });
        expect((await store.cancel({ id: j.id, now: T0 + 1 })).state).toBe('canceled');
        expect(await store.nextDueAt()).toBeNull();
        expect(await store.promoteDue({ now: T0 + 120_000 })).toBe(0);
        expect((await mustGet(j.id)).state).toBe('canceled');
      });

      it('asks the holder of a running job to stop', async () => {
        const j = await enqueueOne().then(() => claimOne({ worker: 'w1' }));
        const out = await store.cancel({ id: j.id, now: T0 + 100 });
        expect(out).toMatchObject({ id: j.id, state: 'running', stopReason: 'canceled', finishedAt: null });
        expect(out.lease?.token).toBe(tokenOf(j));
        expect(await store.stopsFor({ worker: 'w1' })).toEqual([{ id: j.id, reason: 'canceled' }]);
        expect(await store.stopsFor({ worker: 'w2' })).toEqual([]);

        // Cancelling again while it stops is harmless.
        expect((await store.cancel({ id: j.id, now: T0 + 200 })).stopReason).toBe('canceled');

        await store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'canceled' }], now: T0 + 300 });
        expect(await mustGet(j.id)).toMatchObject({ state: 'canceled', finishedAt: T0 + 300 });
        expect(await store.stopsFor({ worker: 'w1' })).toEqual([]);
      });

      it('lists only the worker’s own jobs that were asked to stop', async () => {
        await enqueue({}, {}, {});
        const mine = await claim({ worker: 'w1', limit: 2 });
        const theirs = await claimOne({ worker: 'w2' });
        await store.cancel({ id: mine[0]!.id, now: T0 + 1 });
        await store.cancel({ id: theirs.id, now: T0 + 1 });
        expect(await store.stopsFor({ worker: 'w1' })).toEqual([{ id: mine[0]!.id, reason: 'canceled' }]);
        expect(await store.stopsFor({ worker: 'w2' })).toEqual([{ id: theirs.id, reason: 'canceled' }]);
      });

      it('refuses a job that is already final', async () => {
        const [a, b] = await enqueue({}, {});
        const running = await claimOne();
        await store.complete({ items: [{ id: running.id, token: tokenOf(running), outcome: 'succeeded' }], now: T0 + 1 });
        const other = running.id === a!.id ? b! : a!;
        await store.cancel({ id: other.id, now: T0 + 1 });
        await expect(store.cancel({ id: running.id, now: T0 + 2 })).rejects.toBeInstanceOf(ConflictError);
        await expect(store.cancel({ id: other.id, now: T0 + 2 })).rejects.toBeInstanceOf(ConflictError);
        expect((await mustGet(running.id)).state).toBe('succeeded');
      });

      it('is a NotFoundError for an unknown job', async () => {
        await expect(store.cancel({ id: 'nosuchjob', now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('retry', () => {
      it('puts a failed job back in the queue with one more attempt', async () => {
        await enqueueOne({ maxAttempts: 1 });
        const a1 = await claimOne();
        await store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed', error: 'first' }], now: T0 + 10 });
        expect((await mustGet(a1.id)).state).toBe('failed');

        const out = await store.retry({ id: a1.id, now: T0 + 1_000 });
        expect(out).toMatchObject({ id: a1.id, state: 'queued', attempt: 1, error: null, finishedAt: null, lease: null, stopReason: null });
        expect(out.maxAttempts).toBeGreaterThanOrEqual(2);
        expect(out.runAt).toBeLessThanOrEqual(T0 + 1_000);
        expect(await store.get(a1.id)).toEqual(out);

        const a2 = await claimOne({ worker: 'w2', now: T0 + 2_000 });
        expect(a2.attempt).toBe(2);
        // Exactly one more: failing again ends it.
        const ans = await store.complete({ items: [{ id: a2.id, token: tokenOf(a2), outcome: 'failed', error: 'second' }], now: T0 + 2_010 });
        expect(ans).toEqual([{ id: a2.id, status: 'ok', state: 'failed' }]);
        expect(await store.attempts({ jobId: a1.id })).toEqual([
          { jobId: a1.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 10, outcome: 'failed', error: 'first' },
          { jobId: a1.id, attempt: 2, worker: 'w2', startedAt: T0 + 2_000, endedAt: T0 + 2_010, outcome: 'failed', error: 'second' },
        ]);
      });

      it('retries canceled and timed-out jobs', async () => {
        const [canceled, timed] = await enqueue({}, { priority: 1 });
        await store.cancel({ id: canceled!.id, now: T0 + 1 });
        const run = await claimOne();
        expect(run.id).toBe(timed!.id);
        await store.complete({ items: [{ id: run.id, token: tokenOf(run), outcome: 'timed_out' }], now: T0 + 2 });

        expect((await store.retry({ id: canceled!.id, now: T0 + 3 })).state).toBe('queued');
        expect((await store.retry({ id: timed!.id, now: T0 + 3 })).state).toBe('queued');
        const again = await claim({ now: T0 + 4 });
        expect(sortedIds(again)).toEqual(sortedIds([canceled!, timed!]));
        expect(again.find((j) => j.id === canceled!.id)?.attempt).toBe(1);
        expect(again.find((j) => j.id === timed!.id)?.attempt).toBe(2);
      });

      it('refuses a job that succeeded or has not finished', async () => {
        const [done, queued, running, waiting] = await enqueue({ priority: 9 }, {}, { priority: 5 }, { runAt: T0 + 60_000 });
        const d = await claimOne();
        expect(d.id).toBe(done!.id);
        await store.complete({ items: [{ id: d.id, token: tokenOf(d), outcome: 'succeeded' }], now: T0 + 1 });
        expect((await claimOne()).id).toBe(running!.id);
        for (const id of [done!.id, queued!.id, running!.id, waiting!.id]) {
          await expect(store.retry({ id, now: T0 + 2 })).rejects.toBeInstanceOf(ConflictError);
        }
        expect((await mustGet(done!.id)).state).toBe('succeeded');
        expect((await mustGet(running!.id)).state).toBe('running');
      });

      it('is a NotFoundError for an unknown job', async () => {
        await expect(store.retry({ id: 'nosuchjob', now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('promoteDue and nextDueAt', () => {
      it('has nothing due in an empty store', async () => {
        expect(await store.nextDueAt()).toBeNull();
        expect(await store.promoteDue({ now: T0 })).toBe(0);
      });

      it('moves waiting jobs to queued once due, earliest first', async () => {
        const [late, early] = await enqueue({ runAt: T0 + 2_000 }, { runAt: T0 + 1_000 }, { runAt: T0 });
        expect(await store.nextDueAt()).toBe(T0 + 1_000);
        expect(await store.promoteDue({ now: T0 + 999 })).toBe(0);
        expect(await claim({ now: T0 + 999 })).toHaveLength(1); // only the one queued at enqueue

        expect(await store.promoteDue({ now: T0 + 1_000 })).toBe(1);
        expect((await mustGet(early!.id)).state).toBe('queued');
        expect((await mustGet(late!.id)).state).toBe('waiting');
        expect(await store.nextDueAt()).toBe(T0 + 2_000);

        expect(await store.promoteDue({ now: T0 + 5_000 })).toBe(1);
        expect(await store.nextDueAt()).toBeNull();
        expect(await store.promoteDue({ now: T0 + 6_000 })).toBe(0);
        expect(sortedIds(await claim({ now: T0 + 6_000 }))).toEqual(sortedIds([late!, early!]));
      });

      it('promotes every due job at once', async () => {
        await enqueue({ runAt: T0 + 10 }, { runAt: T0 + 20 }, { runAt: T0 + 30 }, { runAt: T0 + 40 });
        expect(await store.promoteDue({ now: T0 + 30 })).toBe(3);
        expect((await store.counts({})).queued).toBe(3);
        expect(await store.nextDueAt()).toBe(T0 + 40);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('reapExpiredLeases', () => {
      it('requeues a job whose lease expired and records the attempt as lost', async () => {
        await enqueueOne({ maxAttempts: 3 });
        const j = await claimOne({ worker: 'w1', leaseMs: 10_000 });
        const reaped = await store.reapExpiredLeases({ now: T0 + 10_001 });
        expect(ids(reaped)).toEqual([j.id]);
        expect(reaped[0]).toMatchObject({ state: 'queued', attempt: 1, lease: null, finishedAt: null });
        expect(await store.get(j.id)).toEqual(reaped[0]);
        const history = await store.attempts({ jobId: j.id });
        expect(history).toEqual([
          { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 10_001, outcome: 'lost', error: expect.any(String) },
        ]);

        // The late worker is fenced off.
        expect(await store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 10_002 })).toEqual([
          { id: j.id, status: 'lost' },
        ]);
        expect(await store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'succeeded' }], now: T0 + 10_002 })).toEqual([
          { id: j.id, status: 'stale' },
        ]);

        const again = await claimOne({ worker: 'w2', now: T0 + 10_003 });
        expect(again.attempt).toBe(2);
        expect(tokenOf(again)).not.toBe(tokenOf(j));
        expect((await store.attempts({ jobId: j.id })).map((a) => [a.attempt, a.worker, a.outcome])).toEqual([
          [1, 'w1', 'lost'],
          [2, 'w2', null],
        ]);
      });

      it('leaves a lease alone until it has expired', async () => {
        await enqueue({}, {});
        const [a, b] = await claim({ limit: 2, leaseMs: 10_000 });
        expect(await store.reapExpiredLeases({ now: T0 + 9_999 })).toEqual([]);
        // expiresAt is the last valid moment.
        expect(await store.reapExpiredLeases({ now: T0 + 10_000 })).toEqual([]);
        // A heartbeat keeps `b` alive past its first expiry.
        await store.heartbeat({ worker: 'w1', items: [{ id: b!.id, token: tokenOf(b!) }], leaseMs: 10_000, now: T0 + 9_000 });
        const reaped = await store.reapExpiredLeases({ now: T0 + 10_001 });
        expect(ids(reaped)).toEqual([a!.id]);
        expect(await mustGet(b!.id)).toMatchObject({ state: 'running', lease: { token: tokenOf(b!), expiresAt: T0 + 19_000 } });
        expect(await store.reapExpiredLeases({ now: T0 + 10_002 })).toEqual([]);
      });

      it('fails a job whose lost attempt was its last', async () => {
        const created = await enqueueOne({ maxAttempts: 1 });
        await claimOne({ leaseMs: 1_000 });
        const reaped = await store.reapExpiredLeases({ now: T0 + 5_000 });
        expect(reaped).toHaveLength(1);
        expect(reaped[0]).toMatchObject({ id: created.id, state: 'failed', lease: null, finishedAt: T0 + 5_000 });
        expect(reaped[0]?.error).toEqual(expect.any(String));
        expect((await store.attempts({ jobId: created.id })).map((a) => a.outcome)).toEqual(['lost']);
        expect(await claim({ now: T0 + 5_001 })).toEqual([]);
      });

      it('ends a job asked to stop in its stop reason', async () => {
        await enqueue({ maxAttempts: 5 }, { maxAttempts: 5, timeLimitMs: 500 });
        const [a, b] = await claim({ limit: 2, leaseMs: 1_000 });
        const canceled = a!.timeLimitMs === null ? a! : b!;
        const timed = a!.timeLimitMs === null ? b! : a!;
        await store.cancel({ id: canceled.id, now: T0 + 100 });
        expect(ids(await store.markTimedOut({ now: T0 + 500 }))).toEqual([timed.id]);
        const reaped = await store.reapExpiredLeases({ now: T0 + 2_000 });
        expect(sortedIds(reaped)).toEqual(sortedIds([a!, b!]));
        expect(await mustGet(canceled.id)).toMatchObject({ state: 'canceled', stopReason: null, lease: null, finishedAt: T0 + 2_000 });
        expect(await mustGet(timed.id)).toMatchObject({ state: 'timed_out', stopReason: null, lease: null, finishedAt: T0 + 2_000 });
        expect((await store.attempts({ jobId: canceled.id })).map((x) => x.outcome)).toEqual(['lost']);
        expect(await store.stopsFor({ worker: 'w1' })).toEqual([]);
      });

      it('reaps nothing when nothing runs', async () => {
        await enqueue({}, { runAt: T0 + 1 });
        expect(await store.reapExpiredLeases({ now: T0 + 1_000_000 })).toEqual([]);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('markTimedOut', () => {
      it('marks a running job once its attempt has run for timeLimitMs', async () => {
        await enqueue({ timeLimitMs: 5_000 }, { timeLimitMs: null });
        const start = T0 + 10_000;
        const [a, b] = await claim({ limit: 2, leaseMs: 60_000, now: start });
        const limited = a!.timeLimitMs !== null ? a! : b!;
        const unlimited = a!.timeLimitMs !== null ? b! : a!;

        expect(await store.markTimedOut({ now: start + 4_999 })).toEqual([]);
        const marked = await store.markTimedOut({ now: start + 5_000 });
        expect(ids(marked)).toEqual([limited.id]);
        expect(marked[0]).toMatchObject({ state: 'running', stopReason: 'timed_out' });
        // Only newly marked jobs come back.
        expect(await store.markTimedOut({ now: start + 6_000 })).toEqual([]);
        expect(await store.markTimedOut({ now: start + 10_000_000 })).toEqual([]);

        expect(await store.stopsFor({ worker: 'w1' })).toEqual([{ id: limited.id, reason: 'timed_out' }]);
        expect(await store.heartbeat({ worker: 'w1', items: [{ id: limited.id, token: tokenOf(limited) }], leaseMs: 60_000, now: start + 6_000 })).toEqual([
          { id: limited.id, status: 'stop', reason: 'timed_out', leaseExpiresAt: start + 66_000 },
        ]);
        expect((await mustGet(unlimited.id)).stopReason).toBeNull();
      });

      it('counts the deadline from the start of the current attempt', async () => {
        await enqueueOne({ timeLimitMs: 5_000, maxAttempts: 3, backoffMs: 1_000 });
        const a1 = await claimOne({ now: T0 });
        await store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed' }], now: T0 + 1_000, random: () => 0 });
        await store.promoteDue({ now: T0 + 100_000 });
        await claimOne({ now: T0 + 100_000 });
        expect(await store.markTimedOut({ now: T0 + 104_999 })).toEqual([]);
        expect(await store.markTimedOut({ now: T0 + 105_000 })).toHaveLength(1);
      });

      it('does not mark a job that was already asked to stop', async () => {
        await enqueueOne({ timeLimitMs: 1_000 });
        const j = await claimOne();
        await store.cancel({ id: j.id, now: T0 + 10 });
        expect(await store.markTimedOut({ now: T0 + 2_000 })).toEqual([]);
        expect((await mustGet(j.id)).stopReason).toBe('canceled');
      });

      it('ignores jobs that are not running', async () => {
        await enqueue({ timeLimitMs: 1 }, { timeLimitMs: 1, runAt: T0 + 1 });
        expect(await store.markTimedOut({ now: T0 + 1_000_000 })).toEqual([]);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('retention', () => {
      it('deletes finished jobs older than the cut-off in batches, with their logs, and nothing else', async () => {
        const jobs = await enqueue({}, {}, {}, {}, {});
        for (const j of jobs.slice(0, 3)) await store.cancel({ id: j.id, now: T0 + 10 });
        await store.appendLog({ jobId: jobs[0]!.id, chunks: [{ stream: 'stdout', text: 'x' }], now: T0 });
        // A job canceled after the cut-off stays.
        await store.cancel({ id: jobs[3]!.id, now: T0 + 100 });
        expect(await store.deleteFinished({ before: T0 + 50, limit: 2 })).toBe(2);
        expect(await store.deleteFinished({ before: T0 + 50, limit: 2 })).toBe(1);
        expect(await store.deleteFinished({ before: T0 + 50, limit: 2 })).toBe(0);
        const left = (await store.list({})).jobs.map((j) => j.id).sort();
        expect(left).toEqual([jobs[3]!.id, jobs[4]!.id].sort());
        expect(await store.readLog({ jobId: jobs[0]!.id, after: 0, limit: 10 })).toEqual([]);
      });
    });

    describe('logs', () => {
      it('appends chunks with increasing seq and reads them back oldest first', async () => {
        const j = await enqueueOne();
        await store.appendLog({
          jobId: j.id,
          chunks: [
            { stream: 'stdout', text: 'line 1\n', ts: T0 + 1 },
            { stream: 'stderr', text: 'warn: ünïcode ✓\n', ts: T0 + 2 },
            { stream: 'drover', text: 'no ts given' },
          ],
          now: T0 + 10,
        });
        const got = await store.readLog({ jobId: j.id, after: 0, limit: 100 });
        expect(got.map((c) => ({ stream: c.stream, text: c.text, ts: c.ts }))).toEqual([
          { stream: 'stdout', text: 'line 1\n', ts: T0 + 1 },
          { stream: 'stderr', text: 'warn: ünïcode ✓\n', ts: T0 + 2 },
          { stream: 'drover', text: 'no ts given', ts: T0 + 10 },
        ]);
        const seqs = got.map((c) => c.seq);
        expect(seqs[0]).toBeGreaterThan(0);
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);

        await store.appendLog({ jobId: j.id, chunks: [{ stream: 'stdout', text: 'line 4' }], now: T0 + 20 });
        const more = await store.readLog({ jobId: j.id, after: seqs[seqs.length - 1]!, limit: 100 });
        expect(more.map((c) => c.text)).toEqual(['line 4']);
        expect(more[0]!.seq).toBeGreaterThan(seqs[seqs.length - 1]!);
      });

      it('pages with `after` and `limit`', async () => {
        const j = await enqueueOne();
        await store.appendLog({ jobId: j.id, chunks: Array.from({ length: 7 }, (_, i) => ({ stream: 'stdout', text: `l${i}` })), now: T0 });
        const texts: string[] = [];
        let after = 0;
        for (let pages = 0; ; pages++) {
          expect(pages).toBeLessThan(10);
          const page = await store.readLog({ jobId: j.id, after, limit: 3 });
          expect(page.length).toBeLessThanOrEqual(3);
          if (page.length === 0) break;
          texts.push(...page.map((c) => c.text));
          after = page[page.length - 1]!.seq;
        }
        expect(texts).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6']);
      });

      it('keeps each job’s log separate', async () => {
        const [a, b] = await enqueue({}, {});
        await store.appendLog({ jobId: a!.id, chunks: [{ stream: 'stdout', text: 'a1' }], now: T0 });
        await store.appendLog({ jobId: b!.id, chunks: [{ stream: 'stdout', text: 'b1' }], now: T0 });
        await store.appendLog({ jobId: a!.id, chunks: [{ stream: 'stdout', text: 'a2' }], now: T0 });
        expect((await store.readLog({ jobId: a!.id, after: 0, limit: 10 })).map((c) => c.text)).toEqual(['a1', 'a2']);
        expect((await store.readLog({ jobId: b!.id, after: 0, limit: 10 })).map((c) => c.text)).toEqual(['b1']);
      });

      it('accepts an empty append', async () => {
        const j = await enqueueOne();
        await store.appendLog({ jobId: j.id, chunks: [], now: T0 });
        expect(await store.readLog({ jobId: j.id, after: 0, limit: 10 })).toEqual([]);
      });

      it('is a NotFoundError to append to an unknown job', async () => {
        await expect(store.appendLog({ jobId: 'nosuchjob', chunks: [{ stream: 'stdout', text: 'x' }], now: T0 })).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('attempts', () => {
      it('is empty for a job that never ran, or an unknown job', async () => {
        const j = await enqueueOne();
        expect(await store.attempts({ jobId: j.id })).toEqual([]);
        expect(await store.attempts({ jobId: 'nosuchjob' })).toEqual([]);
      });

      it('keeps the whole history of a job: failed, lost, succeeded', async () => {
        await enqueueOne({ maxAttempts: 3, backoffMs: 1_000 });
        const a1 = await claimOne({ worker: 'w1', now: T0 });
        await store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed', error: 'e1' }], now: T0 + 100, random: () => 0 });
        await store.promoteDue({ now: T0 + 10_000 });
        await claimOne({ worker: 'w2', now: T0 + 10_000, leaseMs: 1_000 });
        await store.reapExpiredLeases({ now: T0 + 20_000 });
        const a3 = await claimOne({ worker: 'w3', now: T0 + 30_000 });
        expect(a3.attempt).toBe(3);
        await store.complete({ items: [{ id: a3.id, token: tokenOf(a3), outcome: 'succeeded' }], now: T0 + 30_500 });
        const history = await store.attempts({ jobId: a1.id });
        expect(history.map((a) => ({ attempt: a.attempt, worker: a.worker, startedAt: a.startedAt, endedAt: a.endedAt, outcome: a.outcome }))).toEqual([
          { attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 100, outcome: 'failed' },
          { attempt: 2, worker: 'w2', startedAt: T0 + 10_000, endedAt: T0 + 20_000, outcome: 'lost' },
          { attempt: 3, worker: 'w3', startedAt: T0 + 30_000, endedAt: T0 + 30_500, outcome: 'succeeded' },
        ]);
        expect(history.every((a) => a.jobId === a1.id)).toBe(true);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('workers', () => {
      const info = (over: Partial<WorkerInfo> = {}): WorkerInfo => ({
        name: 'w1',
        host: 'box-1',
        kinds: ['exec', 'noop'],
        templates: [{ name: 'dl', kind: 'exec', required: ['url'], secrets: ['token'] }],
        slots: 4,
        running: 0,
        version: '0.1.0',
        ...over,
      });

      it('lists nothing before any worker registers', async () => {
        expect(await store.listWorkers()).toEqual([]);
      });

      it('records a worker and updates it, keeping when it was first seen', async () => {
        await store.upsertWorker({ worker: info(), now: T0 });
        expect(await store.listWorkers()).toEqual([{ ...info(), firstSeen: T0, lastSeen: T0 }]);

        const updated = info({ running: 3, host: 'box-2', kinds: ['noop'], templates: [], version: '0.2.0' });
        await store.upsertWorker({ worker: updated, now: T0 + 5_000 });
        expect(await store.listWorkers()).toEqual([{ ...updated, firstSeen: T0, lastSeen: T0 + 5_000 }]);
      });

      it('lists every worker', async () => {
        await store.upsertWorker({ worker: info({ name: 'wb' }), now: T0 });
        await store.upsertWorker({ worker: info({ name: 'wa', slots: 1 }), now: T0 + 1 });
        const all = (await store.listWorkers()).sort((x, y) => (x.name < y.name ? -1 : 1));
        expect(all).toEqual([
          { ...info({ name: 'wa', slots: 1 }), firstSeen: T0 + 1, lastSeen: T0 + 1 },
          { ...info({ name: 'wb' }), firstSeen: T0, lastSeen: T0 },
        ]);
      });
    });
  });
}
