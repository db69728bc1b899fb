import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/core/backoff.js';
import { type Harness, LEASE, T0 } from './harness.js';

/** The contract, complete: outcomes settled by one rule, fenced by the lease token. */
export function completeContract(h: Harness): void {
  const { enqueue, enqueueOne, claim, claimOne, mustGet, tokenOf, ids } = h;
  describe('complete', () => {
    it('answers stale for a wrong token or unknown job, and changes nothing', async () => {
      const j = await enqueueOne().then(() => claimOne());
      const before = await mustGet(j.id);
      const answers = await h.store.complete({
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
      expect(await h.store.get(j.id)).toEqual(before);
      expect(await h.store.attempts({ jobId: j.id })).toHaveLength(1);
    });

    it('records a success with its result and progress, and ends the lease', async () => {
      const j = await enqueueOne().then(() => claimOne());
      const answers = await h.store.complete({
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
      expect(await h.store.attempts({ jobId: j.id })).toEqual([
        { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 5_000, outcome: 'succeeded', error: null },
      ]);
      // The same report again is stale: the token no longer holds the job.
      expect(await h.store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'succeeded' }], now: T0 + 6_000 })).toEqual([
        { id: j.id, status: 'stale' },
      ]);
      expect((await mustGet(j.id)).finishedAt).toBe(T0 + 5_000);
    });

    it('sends a failure with attempts left back to waiting with a backoff', async () => {
      const created = await enqueueOne({ maxAttempts: 3, backoffMs: 4_000, backoffMaxMs: 600_000 });
      const j = await claimOne();
      const now = T0 + 1_000;
      const random = () => 0.5;
      const answers = await h.store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', error: 'connection reset' }], now, random });
      expect(answers).toEqual([{ id: j.id, status: 'ok', state: 'waiting' }]);
      const got = await mustGet(j.id);
      const expectedRunAt = now + backoffDelay(1, 4_000, 600_000, () => 0.5);
      expect(got.runAt).toBe(expectedRunAt);
      expect(got.runAt).toBeGreaterThan(now);
      expect(got.runAt).toBeLessThanOrEqual(now + 4_000);
      expect(got).toMatchObject({ state: 'waiting', attempt: 1, error: 'connection reset', lease: null, finishedAt: null, createdAt: created.createdAt });
      expect(await h.store.nextDueAt()).toBe(expectedRunAt);
      expect(await h.store.attempts({ jobId: j.id })).toEqual([
        { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: now, outcome: 'failed', error: 'connection reset' },
      ]);

      // Not claimable before it is due; claimable after promotion, as attempt 2.
      expect(await claim({ now: expectedRunAt - 1 })).toEqual([]);
      expect(await h.store.promoteDue({ now: expectedRunAt })).toBe(1);
      const again = await claimOne({ worker: 'w2', now: expectedRunAt });
      expect(again.attempt).toBe(2);
      expect(again.error).toBeNull();
      expect(await h.store.attempts({ jobId: j.id })).toEqual([
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
        await h.store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', error: `e${attempt}` }], now, random });
        const w = await mustGet(j.id);
        delays.push(w.runAt - now);
        expect(w.runAt - now).toBe(backoffDelay(attempt, 1_000, 1_500, random));
        now = w.runAt;
        await h.store.promoteDue({ now });
      }
      expect(delays[0]).toBeLessThanOrEqual(1_000);
      for (const d of delays) expect(d).toBeLessThanOrEqual(1_500);
      expect(delays[1]).toBeGreaterThan(delays[0]!);
    });

    it('fails at once when the failure is not retryable', async () => {
      const j = await enqueueOne({ maxAttempts: 5 }).then(() => claimOne());
      const answers = await h.store.complete({
        items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', error: 'HTTP 404', retryable: false }],
        now: T0 + 100,
      });
      expect(answers).toEqual([{ id: j.id, status: 'ok', state: 'failed' }]);
      expect(await mustGet(j.id)).toMatchObject({ state: 'failed', error: 'HTTP 404', finishedAt: T0 + 100, lease: null });
      expect(await h.store.attempts({ jobId: j.id })).toEqual([
        { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 100, outcome: 'failed', error: 'HTTP 404' },
      ]);
    });

    it('fails for good on the last attempt', async () => {
      await enqueueOne({ maxAttempts: 2, backoffMs: 100 });
      const a1 = await claimOne();
      await h.store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed', error: 'one' }], now: T0 + 10, random: () => 0 });
      await h.store.promoteDue({ now: T0 + 10_000 });
      const a2 = await claimOne({ now: T0 + 10_000 });
      expect(a2.attempt).toBe(2);
      const answers = await h.store.complete({ items: [{ id: a2.id, token: tokenOf(a2), outcome: 'failed', error: 'two' }], now: T0 + 10_010, random: () => 0 });
      expect(answers).toEqual([{ id: a2.id, status: 'ok', state: 'failed' }]);
      expect(await mustGet(a2.id)).toMatchObject({ state: 'failed', attempt: 2, error: 'two', finishedAt: T0 + 10_010 });
      const history = await h.store.attempts({ jobId: a2.id });
      expect(history.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
        [1, 'failed', 'one'],
        [2, 'failed', 'two'],
      ]);
    });

    it('records timed_out and canceled outcomes as final', async () => {
      await enqueue({ maxAttempts: 5 }, { maxAttempts: 5 });
      const [a, b] = await claim({ limit: 2 });
      const answers = await h.store.complete({
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
      expect((await h.store.attempts({ jobId: a!.id }))[0]?.outcome).toBe('timed_out');
    });

    it('ends a job asked to stop in the stop reason, whatever failure the worker reports', async () => {
      await enqueue({ maxAttempts: 5 }, { maxAttempts: 5 }, { maxAttempts: 5, timeLimitMs: 1_000 });
      const [a, b, c] = await claim({ limit: 3 });
      await h.store.cancel({ id: a!.id, now: T0 + 1 });
      await h.store.cancel({ id: b!.id, now: T0 + 1 });
      expect(ids(await h.store.markTimedOut({ now: T0 + 1_000 }))).toEqual([c!.id]);
      const answers = await h.store.complete({
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
      expect(await h.store.stopsFor({ worker: 'w1' })).toEqual([]);
    });

    it('puts a released job back in the queue at once without counting the attempt', async () => {
      await enqueueOne({ maxAttempts: 1 });
      const j = await claimOne();
      const answers = await h.store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'failed', release: true }], now: T0 + 500 });
      expect(answers).toEqual([{ id: j.id, status: 'ok', state: 'queued' }]);
      const got = await mustGet(j.id);
      expect(got).toMatchObject({ state: 'queued', lease: null, finishedAt: null });
      expect(got.runAt).toBeLessThanOrEqual(T0 + 500);
      expect((await h.store.attempts({ jobId: j.id })).map((a) => [a.attempt, a.outcome])).toEqual([[1, 'released']]);

      // The one real attempt is still available; after it fails the job is failed.
      const again = await claimOne({ worker: 'w2', now: T0 + 600 });
      await h.store.complete({ items: [{ id: again.id, token: tokenOf(again), outcome: 'failed', error: 'real' }], now: T0 + 700 });
      expect((await mustGet(j.id)).state).toBe('failed');
      expect((await h.store.attempts({ jobId: j.id })).map((a) => a.outcome)).toEqual(['released', 'failed']);
    });

    it('keeps the stored progress when an outcome carries none (null or absent), and takes the one it carries', async () => {
      await enqueue({ maxAttempts: 1 }, { maxAttempts: 1 }, { maxAttempts: 3 }, {});
      const [a, b, c, d] = await claim({ limit: 4 });
      for (const j of [a!, b!, c!, d!]) await h.store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j), progress: { bytes: 7, message: 'half way' } }], leaseMs: LEASE, now: T0 + 1 });
      await h.store.complete({
        items: [
          { id: a!.id, token: tokenOf(a!), outcome: 'failed', error: 'boom', progress: null },
          { id: b!.id, token: tokenOf(b!), outcome: 'failed', error: 'boom' },
          { id: c!.id, token: tokenOf(c!), outcome: 'failed', error: 'boom', progress: { bytes: 9 } },
          { id: d!.id, token: tokenOf(d!), outcome: 'succeeded', progress: null },
        ],
        now: T0 + 2,
        random: () => 0,
      });
      expect((await mustGet(a!.id)).progress).toEqual({ bytes: 7, message: 'half way' });
      expect((await mustGet(b!.id)).progress).toEqual({ bytes: 7, message: 'half way' });
      expect(await mustGet(c!.id)).toMatchObject({ state: 'waiting', progress: { bytes: 9 } });
      expect((await mustGet(d!.id)).progress).toEqual({ bytes: 7, message: 'half way' });
    });

    it('answers each item in order, a stale one not affecting the others', async () => {
      await enqueue({}, {}, {});
      const [a, b, c] = await claim({ limit: 3 });
      const answers = await h.store.complete({
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
}
