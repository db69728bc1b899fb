import { describe, expect, it } from 'vitest';
import type { JobStore } from '../../../src/store/store.js';
import { type Harness, T0 } from './harness.js';

/** The contract, get, list and counts: filters, pages, counts. */
export function listContract(h: Harness): void {
  const { job, enqueue, enqueueOne, claim, tokenOf, ids, sortedIds, zeroCounts } = h;
  describe('get and list', () => {
    it('get of an unknown id is null', async () => {
      expect(await h.store.get('nosuchjob')).toBeNull();
      await enqueueOne();
      expect(await h.store.get('nosuchjob')).toBeNull();
    });

    it('lists every job ascending by id, with no cursor when all fit', async () => {
      await h.store.enqueue({ jobs: [job({ id: 'm0002' }), job({ id: 'z0003' }), job({ id: 'a0001' })], now: T0 });
      const page = await h.store.list({});
      expect(ids(page.jobs)).toEqual(['a0001', 'm0002', 'z0003']);
      expect(page.nextCursor).toBeNull();
      expect(page.jobs[0]).toEqual(await h.store.get('a0001'));
    });

    /**
     * a: default/noop, alice, [x], queued           e: default/noop, bob, succeeded at T0+100
     * b: media/exec(dl), bob, [x,y], queued         f: media/exec(dl), alice, [y], failed at T0+200
     * c: media/ffmpeg, alice, waiting               g: default/noop, canceled at T0+300
     * d: default/noop, [y], running
     */
    async function population(): Promise<void> {
      await h.store.enqueue({
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
      await h.store.complete({ items: [{ id: 'pe', token: tok('pe'), outcome: 'succeeded' }], now: T0 + 100 });
      await h.store.complete({ items: [{ id: 'pf', token: tok('pf'), outcome: 'failed', error: 'boom', retryable: false }], now: T0 + 200 });
      await h.store.enqueue({
        now: T0,
        jobs: [
          job({ id: 'pa', owner: 'alice', tags: ['x'] }),
          job({ id: 'pb', queue: 'media', kind: 'exec', template: 'dl', owner: 'bob', tags: ['x', 'y'] }),
          job({ id: 'pc', queue: 'media', kind: 'ffmpeg', owner: 'alice', runAt: T0 + 3_600_000 }),
          job({ id: 'pg' }),
        ],
      });
      await h.store.cancel({ id: 'pg', now: T0 + 300 });
    }

    async function listIds(f: Parameters<JobStore['list']>[0]): Promise<string[]> {
      const page = await h.store.list(f);
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
      // The jobs a worker ran last (the leases w1 took), and those it holds now.
      expect(await listIds({ worker: 'w1' })).toEqual(['pd', 'pe', 'pf']);
      expect(await listIds({ worker: 'w1', state: ['running'] })).toEqual(['pd']);
      expect(await listIds({ worker: 'w2' })).toEqual([]);
    });

    it('lists newest first with order desc, its cursor going on down', async () => {
      await population();
      expect(await listIds({ order: 'desc' })).toEqual(['pg', 'pf', 'pe', 'pd', 'pc', 'pb', 'pa']);
      expect(await listIds({ order: 'desc', state: ['queued', 'waiting'] })).toEqual(['pc', 'pb', 'pa']);
      const first = await h.store.list({ order: 'desc', limit: 3 });
      expect(ids(first.jobs)).toEqual(['pg', 'pf', 'pe']);
      expect(first.nextCursor).toBe('pe');
      const second = await h.store.list({ order: 'desc', limit: 3, cursor: 'pe' });
      expect(ids(second.jobs)).toEqual(['pd', 'pc', 'pb']);
      expect(ids((await h.store.list({ order: 'desc', limit: 3, cursor: second.nextCursor! })).jobs)).toEqual(['pa']);
    });

    it('sorts finished jobs by finish time, then id, paging through ties both ways; unfinished jobs are left out', async () => {
      await population();
      // pa and pb end at pf's time: three jobs tied at T0+200, made in another order than they end.
      await h.store.cancel({ id: 'pb', now: T0 + 200 });
      await h.store.cancel({ id: 'pa', now: T0 + 200 });
      expect(await listIds({ sort: 'finished' })).toEqual(['pe', 'pa', 'pb', 'pf', 'pg']);
      expect(await listIds({ sort: 'finished', order: 'desc' })).toEqual(['pg', 'pf', 'pb', 'pa', 'pe']);
      expect(await listIds({ sort: 'finished', order: 'desc', state: ['canceled'] })).toEqual(['pg', 'pb', 'pa']);
      const pages = async (order: 'asc' | 'desc') => {
        const seen: string[][] = [];
        const cursors: Array<string | null> = [];
        let cursor: string | undefined;
        do {
          const page = await h.store.list({ sort: 'finished', order, limit: 2, ...(cursor ? { cursor } : {}) });
          seen.push(ids(page.jobs));
          cursors.push(page.nextCursor);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return { seen, cursors };
      };
      expect(await pages('desc')).toEqual({ seen: [['pg', 'pf'], ['pb', 'pa'], ['pe']], cursors: [`${T0 + 200}:pf`, `${T0 + 200}:pa`, null] });
      expect(await pages('asc')).toEqual({ seen: [['pe', 'pa'], ['pb', 'pf'], ['pg']], cursors: [`${T0 + 200}:pa`, `${T0 + 200}:pf`, null] });
      // An id is the cursor of a list by creation, not of this one.
      await expect(h.store.list({ sort: 'finished', cursor: 'pe' })).rejects.toThrow(/cursor: "pe" is not the nextCursor of a list sorted by finish time/);
    });

    it('filters by since: created or finished at or after it', async () => {
      await population();
      await h.store.enqueue({ jobs: [job({ id: 'ph' })], now: T0 + 250 });
      expect(await listIds({ since: T0 })).toEqual(['pa', 'pb', 'pc', 'pd', 'pe', 'pf', 'pg', 'ph']);
      expect(await listIds({ since: T0 + 101 })).toEqual(['pf', 'pg', 'ph']);
      expect(await listIds({ since: T0 + 250, state: ['queued'] })).toEqual(['ph']);
      expect(await listIds({ since: T0 + 301 })).toEqual([]);
      expect(await h.store.counts({ since: T0 + 101 })).toEqual({ ...zeroCounts(), failed: 1, canceled: 1, queued: 1 });
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
      const all = await h.store.enqueue({ jobs: Array.from({ length: 25 }, () => job()), now: T0 });
      const p1 = await h.store.list({ limit: 10 });
      expect(p1.jobs).toHaveLength(10);
      expect(p1.nextCursor).not.toBeNull();
      const p2 = await h.store.list({ limit: 10, cursor: p1.nextCursor! });
      expect(p2.jobs).toHaveLength(10);
      expect(p2.nextCursor).not.toBeNull();
      const p3 = await h.store.list({ limit: 10, cursor: p2.nextCursor! });
      expect(p3.jobs).toHaveLength(5);
      expect(p3.nextCursor).toBeNull();
      expect([...ids(p1.jobs), ...ids(p2.jobs), ...ids(p3.jobs)]).toEqual(sortedIds(all));
    });

    it('gives no cursor on a full last page', async () => {
      const all = await h.store.enqueue({ jobs: Array.from({ length: 20 }, () => job()), now: T0 });
      const p1 = await h.store.list({ limit: 10 });
      expect(p1.nextCursor).not.toBeNull();
      const p2 = await h.store.list({ limit: 10, cursor: p1.nextCursor! });
      expect(p2.jobs).toHaveLength(10);
      expect(p2.nextCursor).toBeNull();
      expect([...ids(p1.jobs), ...ids(p2.jobs)]).toEqual(sortedIds(all));
    });

    it('pages through a filtered list', async () => {
      const all = await h.store.enqueue({
        jobs: Array.from({ length: 31 }, (_, i) => job({ queue: i % 2 === 0 ? 'even' : 'odd' })),
        now: T0,
      });
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(10);
        const page = await h.store.list({ queue: 'even', limit: 4, ...(cursor ? { cursor } : {}) });
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
      expect(await h.store.list({ cursor: 'zzzzzzzz' })).toEqual({ jobs: [], nextCursor: null });
    });

    it('defaults the page size to 100 and caps it at 1000', async () => {
      const all = await h.store.enqueue({ jobs: Array.from({ length: 1001 }, (_, i) => job({ id: `k${String(i).padStart(5, '0')}` })), now: T0 });
      const byDefault = await h.store.list({});
      expect(byDefault.jobs).toHaveLength(100);
      expect(byDefault.nextCursor).not.toBeNull();
      const capped = await h.store.list({ limit: 5_000 });
      expect(capped.jobs).toHaveLength(1000);
      expect(capped.nextCursor).not.toBeNull();
      const rest = await h.store.list({ limit: 5_000, cursor: capped.nextCursor! });
      expect(ids(rest.jobs)).toEqual([all[1000]!.id]);
      expect(rest.nextCursor).toBeNull();
    });

    it('counts jobs per state, every state present', async () => {
      expect(await h.store.counts({})).toEqual(zeroCounts());
      await population();
      expect(await h.store.counts({})).toEqual({ ...zeroCounts(), queued: 2, waiting: 1, running: 1, succeeded: 1, failed: 1, canceled: 1 });
    });

    it('counts per queue and state, under the same filters', async () => {
      await population();
      const zero = zeroCounts();
      expect(await h.store.countsByQueue({})).toEqual({
        default: { ...zero, queued: 1, running: 1, succeeded: 1, canceled: 1 },
        media: { ...zero, queued: 1, waiting: 1, failed: 1 },
      });
      expect(await h.store.countsByQueue({ owner: 'alice' })).toEqual({ default: { ...zero, queued: 1 }, media: { ...zero, waiting: 1, failed: 1 } });
      expect(await h.store.countsByQueue({ owner: 'nobody' })).toEqual({});
    });

    it('counts per owner and state, jobs without an owner under ""', async () => {
      await population();
      const zero = zeroCounts();
      expect(await h.store.countsByOwner({})).toEqual({
        alice: { ...zero, queued: 1, waiting: 1, failed: 1 },
        bob: { ...zero, queued: 1, succeeded: 1 },
        '': { ...zero, running: 1, canceled: 1 },
      });
      expect(await h.store.countsByOwner({ queue: 'media' })).toEqual({ alice: { ...zero, waiting: 1, failed: 1 }, bob: { ...zero, queued: 1 } });
    });

    it('counts the jobs that ended per bucket of time and state, from `since`', async () => {
      await population();
      // pe succeeded at T0+100, pf failed at T0+200, pg canceled at T0+300 (T0 is a multiple of 200).
      const sorted = (rows: Array<{ at: number; state: string; n: number }>) => [...rows].sort((a, b) => a.at - b.at || a.state.localeCompare(b.state));
      expect(sorted(await h.store.finishedPerBucket({ since: 0, bucketMs: 200 }))).toEqual([
        { at: T0, state: 'succeeded', n: 1 },
        { at: T0 + 200, state: 'canceled', n: 1 },
        { at: T0 + 200, state: 'failed', n: 1 },
      ]);
      expect(await h.store.finishedPerBucket({ since: 0, bucketMs: 1_000 })).toEqual(expect.arrayContaining([{ at: T0, state: 'canceled', n: 1 }]));
      expect(await h.store.finishedPerBucket({ since: T0 + 150, bucketMs: 3_600_000 })).toEqual(
        expect.arrayContaining([
          { at: Math.floor(T0 / 3_600_000) * 3_600_000, state: 'failed', n: 1 },
          { at: Math.floor(T0 / 3_600_000) * 3_600_000, state: 'canceled', n: 1 },
        ]),
      );
      expect(await h.store.finishedPerBucket({ since: T0 + 150, bucketMs: 3_600_000 })).toHaveLength(2);
      expect(await h.store.finishedPerBucket({ since: T0 + 301, bucketMs: 60_000 })).toEqual([]);
    });

    it('counts with queue, owner, tag, template, kind and finishedSince filters', async () => {
      await population();
      expect(await h.store.counts({ queue: 'media' })).toEqual({ ...zeroCounts(), queued: 1, waiting: 1, failed: 1 });
      expect(await h.store.counts({ owner: 'alice' })).toEqual({ ...zeroCounts(), queued: 1, waiting: 1, failed: 1 });
      expect(await h.store.counts({ tag: 'y' })).toEqual({ ...zeroCounts(), queued: 1, running: 1, failed: 1 });
      expect(await h.store.counts({ template: 'dl' })).toEqual({ ...zeroCounts(), queued: 1, failed: 1 });
      expect(await h.store.counts({ kind: 'noop' })).toEqual({ ...zeroCounts(), queued: 1, running: 1, succeeded: 1, canceled: 1 });
      expect(await h.store.counts({ finishedSince: T0 + 150 })).toEqual({ ...zeroCounts(), failed: 1, canceled: 1 });
      expect(await h.store.counts({ queue: 'default', owner: 'bob' })).toEqual({ ...zeroCounts(), succeeded: 1 });
      expect(await h.store.counts({ queue: 'nosuch' })).toEqual(zeroCounts());
    });
  });
}
