import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../../src/core/errors.js';
import { type Harness, T0 } from './harness.js';

/** The contract, cancel and retry. */
export function cancelRetryContract(h: Harness): void {
  const { enqueue, enqueueOne, claim, claimOne, mustGet, tokenOf, sortedIds } = h;
  describe('cancel', () => {
    it('cancels a queued job at once', async () => {
      const j = await enqueueOne();
      const out = await h.store.cancel({ id: j.id, now: T0 + 100 });
      expect(out).toMatchObject({ id: j.id, state: 'canceled', finishedAt: T0 + 100, lease: null, stopReason: null });
      expect(await h.store.get(j.id)).toEqual(out);
      expect(await claim()).toEqual([]);
    });

    it('cancels a waiting job at once', async () => {
      const j = await enqueueOne({ runAt: T0 + 60_000 });
      expect((await h.store.cancel({ id: j.id, now: T0 + 1 })).state).toBe('canceled');
      expect(await h.store.nextDueAt()).toBeNull();
      expect(await h.store.promoteDue({ now: T0 + 120_000 })).toBe(0);
      expect((await mustGet(j.id)).state).toBe('canceled');
    });

    it('asks the holder of a running job to stop', async () => {
      const j = await enqueueOne().then(() => claimOne({ worker: 'w1' }));
      const out = await h.store.cancel({ id: j.id, now: T0 + 100 });
      expect(out).toMatchObject({ id: j.id, state: 'running', stopReason: 'canceled', finishedAt: null });
      expect(out.lease?.token).toBe(tokenOf(j));
      expect(await h.store.stopsFor({ worker: 'w1' })).toEqual([{ id: j.id, reason: 'canceled' }]);
      expect(await h.store.stopsFor({ worker: 'w2' })).toEqual([]);

      // Cancelling again while it stops is harmless.
      expect((await h.store.cancel({ id: j.id, now: T0 + 200 })).stopReason).toBe('canceled');

      await h.store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'canceled' }], now: T0 + 300 });
      expect(await mustGet(j.id)).toMatchObject({ state: 'canceled', finishedAt: T0 + 300 });
      expect(await h.store.stopsFor({ worker: 'w1' })).toEqual([]);
    });

    it('lists only the worker’s own jobs that were asked to stop', async () => {
      await enqueue({}, {}, {});
      const mine = await claim({ worker: 'w1', limit: 2 });
      const theirs = await claimOne({ worker: 'w2' });
      await h.store.cancel({ id: mine[0]!.id, now: T0 + 1 });
      await h.store.cancel({ id: theirs.id, now: T0 + 1 });
      expect(await h.store.stopsFor({ worker: 'w1' })).toEqual([{ id: mine[0]!.id, reason: 'canceled' }]);
      expect(await h.store.stopsFor({ worker: 'w2' })).toEqual([{ id: theirs.id, reason: 'canceled' }]);
    });

    it('refuses a job that is already final', async () => {
      const [a, b] = await enqueue({}, {});
      const running = await claimOne();
      await h.store.complete({ items: [{ id: running.id, token: tokenOf(running), outcome: 'succeeded' }], now: T0 + 1 });
      const other = running.id === a!.id ? b! : a!;
      await h.store.cancel({ id: other.id, now: T0 + 1 });
      await expect(h.store.cancel({ id: running.id, now: T0 + 2 })).rejects.toBeInstanceOf(ConflictError);
      await expect(h.store.cancel({ id: other.id, now: T0 + 2 })).rejects.toBeInstanceOf(ConflictError);
      expect((await mustGet(running.id)).state).toBe('succeeded');
    });

    it('is a NotFoundError for an unknown job', async () => {
      await expect(h.store.cancel({ id: 'nosuchjob', now: T0 })).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('retry', () => {
    it('puts a failed job back in the queue with one more attempt', async () => {
      await enqueueOne({ maxAttempts: 1 });
      const a1 = await claimOne();
      await h.store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed', error: 'first' }], now: T0 + 10 });
      expect((await mustGet(a1.id)).state).toBe('failed');

      const out = await h.store.retry({ id: a1.id, now: T0 + 1_000 });
      expect(out).toMatchObject({ id: a1.id, state: 'queued', attempt: 1, error: null, finishedAt: null, lease: null, stopReason: null });
      expect(out.maxAttempts).toBeGreaterThanOrEqual(2);
      expect(out.runAt).toBeLessThanOrEqual(T0 + 1_000);
      expect(await h.store.get(a1.id)).toEqual(out);

      const a2 = await claimOne({ worker: 'w2', now: T0 + 2_000 });
      expect(a2.attempt).toBe(2);
      // Exactly one more: failing again ends it.
      const ans = await h.store.complete({ items: [{ id: a2.id, token: tokenOf(a2), outcome: 'failed', error: 'second' }], now: T0 + 2_010 });
      expect(ans).toEqual([{ id: a2.id, status: 'ok', state: 'failed' }]);
      expect(await h.store.attempts({ jobId: a1.id })).toEqual([
        { jobId: a1.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 10, outcome: 'failed', error: 'first' },
        { jobId: a1.id, attempt: 2, worker: 'w2', startedAt: T0 + 2_000, endedAt: T0 + 2_010, outcome: 'failed', error: 'second' },
      ]);
    });

    it('retries canceled and timed-out jobs', async () => {
      const [canceled, timed] = await enqueue({}, { priority: 1 });
      await h.store.cancel({ id: canceled!.id, now: T0 + 1 });
      const run = await claimOne();
      expect(run.id).toBe(timed!.id);
      await h.store.complete({ items: [{ id: run.id, token: tokenOf(run), outcome: 'timed_out' }], now: T0 + 2 });

      expect((await h.store.retry({ id: canceled!.id, now: T0 + 3 })).state).toBe('queued');
      expect((await h.store.retry({ id: timed!.id, now: T0 + 3 })).state).toBe('queued');
      const again = await claim({ now: T0 + 4 });
      expect(sortedIds(again)).toEqual(sortedIds([canceled!, timed!]));
      expect(again.find((j) => j.id === canceled!.id)?.attempt).toBe(1);
      expect(again.find((j) => j.id === timed!.id)?.attempt).toBe(2);
    });

    it('refuses a job that succeeded or has not finished', async () => {
      const [done, queued, running, waiting] = await enqueue({ priority: 9 }, {}, { priority: 5 }, { runAt: T0 + 60_000 });
      const d = await claimOne();
      expect(d.id).toBe(done!.id);
      await h.store.complete({ items: [{ id: d.id, token: tokenOf(d), outcome: 'succeeded' }], now: T0 + 1 });
      expect((await claimOne()).id).toBe(running!.id);
      for (const id of [done!.id, queued!.id, running!.id, waiting!.id]) {
        await expect(h.store.retry({ id, now: T0 + 2 })).rejects.toBeInstanceOf(ConflictError);
      }
      expect((await mustGet(done!.id)).state).toBe('succeeded');
      expect((await mustGet(running!.id)).state).toBe('running');
    });

    it('is a NotFoundError for an unknown job', async () => {
      await expect(h.store.retry({ id: 'nosuchjob', now: T0 })).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
