import { describe, expect, it } from 'vitest';
import type { JobStore } from '../../../src/store/store.js';
import { type Harness, LEASE, T0 } from './harness.js';

/**
 * The contract, counts: the counts a store keeps per queue, owner and state (store/counters.ts)
 * agree with a count of the jobs themselves after every kind of change. A filter by kind (every
 * job here is a noop) makes the store count the jobs; without it, the kept counts answer.
 */
export function countsContract(h: Harness): void {
  const { job, tokenOf } = h;

  async function expectCountsAgree(store: JobStore, step: string): Promise<void> {
    const kept = { all: await store.counts({}), media: await store.counts({ queue: 'media' }), alice: await store.counts({ owner: 'alice' }), both: await store.counts({ queue: 'media', owner: 'bob' }), queues: await store.countsByQueue({}), owners: await store.countsByOwner({}), ownersOfMedia: await store.countsByOwner({ queue: 'media' }) };
    const counted = { all: await store.counts({ kind: 'noop' }), media: await store.counts({ queue: 'media', kind: 'noop' }), alice: await store.counts({ owner: 'alice', kind: 'noop' }), both: await store.counts({ queue: 'media', owner: 'bob', kind: 'noop' }), queues: await store.countsByQueue({ kind: 'noop' }), owners: await store.countsByOwner({ kind: 'noop' }), ownersOfMedia: await store.countsByOwner({ queue: 'media', kind: 'noop' }) };
    expect(kept, step).toEqual(counted);
  }

  describe('counts kept per queue, owner and state', () => {
    it('agree with the jobs after enqueues, claims, outcomes, retries, cancels, expired leases, revokes, imports and deletes', async () => {
      const owners = ['alice', 'bob', null];
      await h.store.enqueue({ jobs: Array.from({ length: 30 }, (_, i) => job({ queue: i % 3 === 0 ? 'media' : 'default', owner: owners[i % 3] ?? null, maxAttempts: i % 2 === 0 ? 1 : 3 })), now: T0 });
      await h.store.enqueue({ jobs: [job({ runAt: T0 + 60_000, owner: 'bob', queue: 'media' })], now: T0 });
      await expectCountsAgree(h.store, 'after the enqueues');
      expect((await h.store.counts({})).queued).toBe(30);

      const held = await h.claim({ limit: 12 });
      await expectCountsAgree(h.store, 'after a claim');
      await h.store.heartbeat({ worker: 'w1', items: held.slice(0, 3).map((j) => ({ id: j.id, token: tokenOf(j), progress: { pct: 10 } })), leaseMs: LEASE, now: T0 + 1 });
      const [s1, s2, f1, f2, c1, r1, ...rest] = held;
      await h.store.complete({
        items: [
          { id: s1!.id, token: tokenOf(s1!), outcome: 'succeeded' },
          { id: s2!.id, token: tokenOf(s2!), outcome: 'succeeded' },
          { id: f1!.id, token: tokenOf(f1!), outcome: 'failed', error: 'x' },
          { id: f2!.id, token: tokenOf(f2!), outcome: 'failed', error: 'y', retryable: false },
          { id: c1!.id, token: tokenOf(c1!), outcome: 'canceled' },
          { id: r1!.id, token: tokenOf(r1!), outcome: 'failed', retryable: true, release: true, error: 'given back' },
        ],
        now: T0 + 2,
      });
      await expectCountsAgree(h.store, 'after outcomes');
      await h.store.foldCounts?.();
      await expectCountsAgree(h.store, 'after a fold');

      await h.store.retry({ id: f2!.id, now: T0 + 3 });
      await h.store.cancel({ id: (await h.store.list({ state: ['queued'], limit: 1 })).jobs[0]!.id, now: T0 + 4 });
      await h.store.cancel({ id: rest[0]!.id, now: T0 + 4 });
      await expectCountsAgree(h.store, 'after a retry and cancels');

      await h.store.revokeLeases({ worker: 'w1', now: T0 + 5 });
      const again = await h.claim({ worker: 'w2', limit: 5, now: T0 + 6 });
      expect(again.length).toBeGreaterThan(0);
      await h.store.reapExpiredLeases({ now: T0 + 6 + LEASE + 1 });
      await h.store.promoteDue({ now: T0 + 60_000 });
      await expectCountsAgree(h.store, 'after a revoke, expired leases and a promotion');

      const [imported] = await h.store.enqueue({ jobs: [job({ queue: 'media', owner: 'alice' })], now: T0 });
      const copy = { ...imported!, id: 'imported01', state: 'succeeded' as const, finishedAt: T0 + 7 };
      expect(await h.store.importJobs({ jobs: [copy], attempts: [] })).toBe(1);
      await h.store.foldCounts?.();
      const deleted = await h.store.deleteFinished({ before: T0 + 100_000_000, limit: 1_000 });
      expect(deleted).toBeGreaterThan(0);
      await expectCountsAgree(h.store, 'after an import and deleting the finished jobs');
      expect(Object.values(await h.store.counts({ queue: 'media' })).reduce((a, b) => a + b, 0)).toBe((await h.store.list({ queue: 'media', limit: 1_000 })).jobs.length);
    });

    it('leave out queues and owners whose jobs are all gone', async () => {
      const [a] = await h.store.enqueue({ jobs: [job({ queue: 'once', owner: 'carol' })], now: T0 });
      await h.store.cancel({ id: a!.id, now: T0 + 1 });
      expect(Object.keys(await h.store.countsByQueue({}))).toContain('once');
      await h.store.deleteFinished({ before: T0 + 10, limit: 10 });
      await h.store.foldCounts?.();
      expect(await h.store.countsByQueue({})).toEqual({});
      expect(await h.store.countsByOwner({})).toEqual({});
      expect(await h.store.counts({ queue: 'once' })).toEqual(h.zeroCounts());
    });
  });
}
