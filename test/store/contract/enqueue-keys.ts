import { describe, expect, it } from 'vitest';
import { ENQUEUE_KEY_TTL_MS } from '../../../src/store/enqueue-keys.js';
import { type Harness, T0 } from './harness.js';

/** The contract, enqueues under idempotency keys: a request's key, a job's own key, their TTL. */
export function enqueueKeysContract(h: Harness): void {
  const { job, ids, zeroCounts } = h;
  describe('enqueueKeyed', () => {
    const request = (key: string, fingerprint = 'body-1') => ({ key, fingerprint });

    it("answers a request's key seen before with the jobs it made, making nothing; another body under it is a conflict", async () => {
      const first = await h.store.enqueueKeyed({ jobs: [job(), job()], now: T0, request: request('retry-me') });
      expect(first).toMatchObject({ replayed: false, created: [true, true] });
      const again = await h.store.enqueueKeyed({ jobs: [job(), job()], now: T0 + 60_000, request: request('retry-me') });
      expect(again).toMatchObject({ replayed: true, created: [false, false] });
      expect(ids(again.jobs)).toEqual(ids(first.jobs));
      expect(again.jobs[0]).toEqual(await h.store.get(first.jobs[0]!.id));
      expect((await h.store.counts({})).queued).toBe(2);
      await expect(h.store.enqueueKeyed({ jobs: [job()], now: T0 + 60_000, request: request('retry-me', 'body-2') })).rejects.toThrow(/Idempotency-Key "retry-me" was used within 24 h for another request/);
      // Another key is another request.
      expect((await h.store.enqueueKeyed({ jobs: [job()], now: T0, request: request('other') })).replayed).toBe(false);
      expect((await h.store.counts({})).queued).toBe(3);
    });

    it('forgets a key after 24 h, and when pruned', async () => {
      await h.store.enqueueKeyed({ jobs: [job()], now: T0, request: request('daily') });
      expect((await h.store.enqueueKeyed({ jobs: [job()], now: T0 + ENQUEUE_KEY_TTL_MS, request: request('daily') })).replayed).toBe(true);
      const later = await h.store.enqueueKeyed({ jobs: [job()], now: T0 + ENQUEUE_KEY_TTL_MS + 1, request: request('daily', 'body-2') });
      expect(later).toMatchObject({ replayed: false, created: [true] });
      // The key now stands for the second request, from its time.
      expect((await h.store.enqueueKeyed({ jobs: [job()], now: T0 + ENQUEUE_KEY_TTL_MS + 2, request: request('daily', 'body-2') })).replayed).toBe(true);
      expect(await h.store.pruneEnqueueKeys({ before: T0 + ENQUEUE_KEY_TTL_MS + 2 })).toBe(1);
      expect((await h.store.enqueueKeyed({ jobs: [job()], now: T0 + ENQUEUE_KEY_TTL_MS + 3, request: request('daily', 'body-3') })).replayed).toBe(false);
      expect((await h.store.counts({})).queued).toBe(3);
    });

    it("answers a job's own key with the job made under it, in a batch and across batches, and makes the rest", async () => {
      const a = await h.store.enqueueKeyed({ jobs: [job(), job(), job(), job()], jobKeys: ['cam-1', null, 'cam-1', 'cam-2'], now: T0 });
      expect(a.created).toEqual([true, true, false, true]);
      expect(a.jobs[2]!.id).toBe(a.jobs[0]!.id);
      const b = await h.store.enqueueKeyed({ jobs: [job(), job()], jobKeys: ['cam-2', 'cam-3'], now: T0 + 1_000 });
      expect(b.created).toEqual([false, true]);
      expect(b.jobs[0]).toEqual(await h.store.get(a.jobs[3]!.id));
      expect(await h.store.counts({})).toEqual({ ...zeroCounts(), queued: 4 });
    });

    it('makes a job again under a key whose job retention deleted', async () => {
      const a = await h.store.enqueueKeyed({ jobs: [job()], jobKeys: ['cam-1'], now: T0 });
      await h.store.cancel({ id: a.jobs[0]!.id, now: T0 + 1 });
      expect(await h.store.deleteFinished({ before: T0 + 2, limit: 10 })).toBe(1);
      const b = await h.store.enqueueKeyed({ jobs: [job()], jobKeys: ['cam-1'], now: T0 + 3 });
      expect(b.created).toEqual([true]);
      expect((await h.store.enqueueKeyed({ jobs: [job()], jobKeys: ['cam-1'], now: T0 + 4 })).jobs[0]!.id).toBe(b.jobs[0]!.id);
    });

    it('answers a unique key with its job while that job has not ended, and makes a new one once it has', async () => {
      const { claimOne, tokenOf } = h;
      const first = await h.store.enqueueKeyed({ jobs: [job(), job()], uniqueKeys: ['nvr-1-day', 'nvr-1-day'], now: T0 });
      expect(first.created).toEqual([true, false]);
      expect(first.jobs[1]!.id).toBe(first.jobs[0]!.id);
      const running = await claimOne();
      expect(running.id).toBe(first.jobs[0]!.id);
      const again = await h.store.enqueueKeyed({ jobs: [job()], uniqueKeys: ['nvr-1-day'], now: T0 + 1_000 });
      expect(again.created).toEqual([false]);
      expect(again.jobs[0]).toMatchObject({ id: running.id, state: 'running' });
      await h.store.complete({ items: [{ id: running.id, token: tokenOf(running), outcome: 'succeeded' }], now: T0 + 2_000 });
      const next = await h.store.enqueueKeyed({ jobs: [job()], uniqueKeys: ['nvr-1-day'], now: T0 + 3_000 });
      expect(next.created).toEqual([true]);
      expect(next.jobs[0]!.id).not.toBe(running.id);
      // Kept past 24 h while its job waits; pruned once it ended.
      expect(await h.store.pruneEnqueueKeys({ before: T0 + ENQUEUE_KEY_TTL_MS * 2 })).toBe(0);
      expect((await h.store.enqueueKeyed({ jobs: [job()], uniqueKeys: ['nvr-1-day'], now: T0 + ENQUEUE_KEY_TTL_MS * 2 })).created).toEqual([false]);
      await h.store.cancel({ id: next.jobs[0]!.id, now: T0 + ENQUEUE_KEY_TTL_MS * 2 });
      expect(await h.store.pruneEnqueueKeys({ before: T0 + ENQUEUE_KEY_TTL_MS * 2 })).toBe(1);
      expect((await h.store.counts({})).queued).toBe(0);
    });

    it('makes one job of a unique key when two stores on one database enqueue it at the same time', async () => {
      const other = await h.another();
      const both = await Promise.all([h.store.enqueueKeyed({ jobs: [job()], uniqueKeys: ['race'], now: T0 }), other.enqueueKeyed({ jobs: [job()], uniqueKeys: ['race'], now: T0 })]);
      expect(both.map((r) => r.created[0]).sort()).toEqual([false, true]);
      expect(both[0]!.jobs[0]!.id).toBe(both[1]!.jobs[0]!.id);
      expect((await h.store.counts({})).queued).toBe(1);
    });

    it('makes the jobs of one key once when two stores on one database enqueue it at the same time', async () => {
      const other = await h.another();
      const both = await Promise.all([
        h.store.enqueueKeyed({ jobs: [job(), job()], now: T0, request: request('race') }),
        other.enqueueKeyed({ jobs: [job(), job()], now: T0, request: request('race') }),
      ]);
      expect(both.map((r) => r.replayed).sort()).toEqual([false, true]);
      expect(ids(both[0]!.jobs)).toEqual(ids(both[1]!.jobs));
      expect((await h.store.counts({})).queued).toBe(2);
    });
  });
}
