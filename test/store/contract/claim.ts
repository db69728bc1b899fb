import { describe, expect, it } from 'vitest';
import { type Harness, T0 } from './harness.js';

/** The contract, claim: priorities, kinds, templates, queues, key limits. */
export function claimContract(h: Harness): void {
  const { job, enqueue, enqueueOne, claim, claimOne, mustGet, tokenOf, ids, sortedIds } = h;
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
      expect(await h.store.get(created.id)).toEqual(claimed);
      expect(await h.store.attempts({ jobId: created.id })).toEqual([
        { jobId: created.id, attempt: 1, worker: 'w-a', startedAt: now, endedAt: null, outcome: null, error: null },
      ]);
    });

    it('gives a job for a node only to a worker of that node; jobs for no node to any worker', async () => {
      const [forB, any] = await enqueue({ node: 'node-b' }, {});
      expect((await mustGet(forB!.id)).node).toBe('node-b');
      expect(ids(await claim({ worker: 'wa', node: 'node-a' }))).toEqual([any!.id]);
      expect(await claim({ worker: 'w0' })).toEqual([]);
      const [b] = await claim({ worker: 'wb', node: 'node-b' });
      expect(b).toMatchObject({ id: forB!.id, node: 'node-b', state: 'running' });
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
      await h.store.enqueue({
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
      await h.store.enqueue({
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
      await h.store.complete({ items: [{ id: first.id, token: tokenOf(first), outcome: 'succeeded' }], now: T0 });
      expect(await claim({ now: T0 + 1_000 })).toEqual([]);
      expect((await mustGet(waiting!.id)).state).toBe('waiting');
    });

    it('matches kinds for jobs without a template and templates for jobs with one', async () => {
      await h.store.enqueue({
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
      await h.store.enqueue({
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
      expect((await h.store.counts({})).queued).toBe(5);
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
      expect((await h.store.counts({})).queued).toBe(3);
    });

    it('never exceeds a concurrency key limit across successive claims and workers', async () => {
      await enqueue(...Array.from({ length: 5 }, () => ({ concurrencyKey: 'nvr-1', concurrencyLimit: 2 })));
      const runningOfKey = async () => (await h.store.list({ state: ['running'] })).jobs.filter((j) => j.concurrencyKey === 'nvr-1');

      const first = await claim({ worker: 'w1', limit: 1 });
      const second = await claim({ worker: 'w2', limit: 10 });
      expect(first).toHaveLength(1);
      expect(second).toHaveLength(1);
      expect(await claim({ worker: 'w3', limit: 10 })).toEqual([]);
      expect(await runningOfKey()).toHaveLength(2);

      const done = first[0]!;
      await h.store.complete({ items: [{ id: done.id, token: tokenOf(done), outcome: 'succeeded' }], now: T0 + 10 });
      expect(await claim({ worker: 'w3', limit: 10, now: T0 + 20 })).toHaveLength(1);
      expect(await claim({ worker: 'w4', limit: 10, now: T0 + 20 })).toEqual([]);
      expect(await runningOfKey()).toHaveLength(2);
    });

    it('takes the best jobs it may run when a key fills up part way through a claim', async () => {
      const k = { concurrencyKey: 'nvr-3', concurrencyLimit: 2 };
      await h.store.enqueue({
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
}
