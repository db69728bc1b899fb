import { describe, expect, it } from 'vitest';
import { type Harness, LEASE, T0 } from './harness.js';

/** The contract, maintenance: due jobs promoted, expired leases reaped, time limits marked. */
export function maintenanceContract(h: Harness): void {
  const { job, enqueue, enqueueOne, claim, claimOne, mustGet, tokenOf, ids, sortedIds } = h;
  describe('promoteDue and nextDueAt', () => {
    it('has nothing due in an empty store', async () => {
      expect(await h.store.nextDueAt()).toBeNull();
      expect(await h.store.promoteDue({ now: T0 })).toBe(0);
    });

    it('moves waiting jobs to queued once due, earliest first', async () => {
      const [late, early] = await enqueue({ runAt: T0 + 2_000 }, { runAt: T0 + 1_000 }, { runAt: T0 });
      expect(await h.store.nextDueAt()).toBe(T0 + 1_000);
      expect(await h.store.promoteDue({ now: T0 + 999 })).toBe(0);
      expect(await claim({ now: T0 + 999 })).toHaveLength(1); // only the one queued at enqueue

      expect(await h.store.promoteDue({ now: T0 + 1_000 })).toBe(1);
      expect((await mustGet(early!.id)).state).toBe('queued');
      expect((await mustGet(late!.id)).state).toBe('waiting');
      expect(await h.store.nextDueAt()).toBe(T0 + 2_000);

      expect(await h.store.promoteDue({ now: T0 + 5_000 })).toBe(1);
      expect(await h.store.nextDueAt()).toBeNull();
      expect(await h.store.promoteDue({ now: T0 + 6_000 })).toBe(0);
      expect(sortedIds(await claim({ now: T0 + 6_000 }))).toEqual(sortedIds([late!, early!]));
    });

    it('promotes every due job at once', async () => {
      await enqueue({ runAt: T0 + 10 }, { runAt: T0 + 20 }, { runAt: T0 + 30 }, { runAt: T0 + 40 });
      expect(await h.store.promoteDue({ now: T0 + 30 })).toBe(3);
      expect((await h.store.counts({})).queued).toBe(3);
      expect(await h.store.nextDueAt()).toBe(T0 + 40);
    });
  });

  describe('reapExpiredLeases', () => {
    it('requeues a job whose lease expired and records the attempt as lost', async () => {
      await enqueueOne({ maxAttempts: 3 });
      const j = await claimOne({ worker: 'w1', leaseMs: 10_000 });
      const reaped = await h.store.reapExpiredLeases({ now: T0 + 10_001 });
      expect(ids(reaped)).toEqual([j.id]);
      expect(reaped[0]).toMatchObject({ state: 'queued', attempt: 1, lease: null, finishedAt: null });
      expect(await h.store.get(j.id)).toEqual(reaped[0]);
      const history = await h.store.attempts({ jobId: j.id });
      expect(history).toEqual([
        { jobId: j.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 10_001, outcome: 'lost', error: expect.any(String) },
      ]);

      // The late worker's lease is not renewed; once the job runs elsewhere, its report is fenced off.
      expect(await h.store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 10_002 })).toEqual([
        { id: j.id, status: 'lost' },
      ]);
      const again = await claimOne({ worker: 'w2', now: T0 + 10_003 });
      expect(again.attempt).toBe(2);
      expect(tokenOf(again)).not.toBe(tokenOf(j));
      expect(await h.store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'succeeded' }], now: T0 + 10_004 })).toEqual([
        { id: j.id, status: 'stale' },
      ]);
      expect((await h.store.attempts({ jobId: j.id })).map((a) => [a.attempt, a.worker, a.outcome])).toEqual([
        [1, 'w1', 'lost'],
        [2, 'w2', null],
      ]);
    });

    it('keeps the place of a job whose lease expired, or that was given back: ahead of the jobs queued after it', async () => {
      await enqueueOne({ id: 'old-1', maxAttempts: 3 });
      await enqueueOne({ id: 'old-2', maxAttempts: 3 });
      const [lost, given] = await claim({ worker: 'w1', limit: 2, leaseMs: 10_000 });
      expect([lost?.id, given?.id]).toEqual(['old-1', 'old-2']);
      // Newer jobs, made while the first two ran.
      await h.store.enqueue({ jobs: [job({ id: 'new-1', runAt: T0 + 5_000 }), job({ id: 'new-2', runAt: T0 + 5_000 })], now: T0 + 5_000 });
      await h.store.complete({ items: [{ id: 'old-2', token: tokenOf(given!), outcome: 'failed', release: true }], now: T0 + 6_000 });
      expect(ids(await h.store.reapExpiredLeases({ now: T0 + 10_001 }))).toEqual(['old-1']);
      expect((await mustGet('old-1')).runAt).toBe(T0);
      expect(ids(await claim({ worker: 'w2', limit: 4, now: T0 + 10_002 }))).toEqual(['old-1', 'old-2', 'new-1', 'new-2']);
    });

    it('counts a report that comes after its lease expired while no worker has leased the job again, and says so in the history', async () => {
      const [ok, boom, last, canceled, revoked] = await enqueue({ maxAttempts: 3 }, { maxAttempts: 3 }, { maxAttempts: 1 }, { maxAttempts: 3 }, { maxAttempts: 3 });
      const held = await claim({ worker: 'w1', limit: 4, leaseMs: 10_000 });
      const tok = (id: string) => tokenOf(held.find((j) => j.id === id)!);
      const other = await claimOne({ worker: 'w2', leaseMs: 60_000 });
      expect(other.id).toBe(revoked!.id);
      await h.store.revokeLeases({ worker: 'w2', now: T0 + 5_000 });
      expect(sortedIds(await h.store.reapExpiredLeases({ now: T0 + 10_001 }))).toEqual(sortedIds([ok!, boom!, last!, canceled!]));
      expect((await mustGet(last!.id)).state).toBe('failed');
      await h.store.cancel({ id: canceled!.id, now: T0 + 10_100 });
      const answers = await h.store.complete({
        now: T0 + 10_500,
        items: [
          { id: ok!.id, token: tok(ok!.id), outcome: 'succeeded', result: { bytes: 1 } },
          { id: boom!.id, token: tok(boom!.id), outcome: 'failed', error: 'boom', retryable: true },
          { id: last!.id, token: tok(last!.id), outcome: 'succeeded' },
          // A revoked token never counts; a job canceled since is no one's to finish.
          { id: revoked!.id, token: tokenOf(other), outcome: 'succeeded' },
          { id: canceled!.id, token: tok(canceled!.id), outcome: 'succeeded' },
        ],
      });
      expect(answers).toEqual([
        { id: ok!.id, status: 'ok', state: 'succeeded', late: true },
        { id: boom!.id, status: 'ok', state: 'waiting', late: true },
        { id: last!.id, status: 'ok', state: 'succeeded', late: true },
        { id: revoked!.id, status: 'stale' },
        { id: canceled!.id, status: 'stale' },
      ]);
      expect(await mustGet(ok!.id)).toMatchObject({ state: 'succeeded', result: { bytes: 1 }, finishedAt: T0 + 10_500, attempt: 1 });
      expect(await mustGet(canceled!.id)).toMatchObject({ state: 'canceled' });
      expect(await h.store.attempts({ jobId: ok!.id })).toEqual([{ jobId: ok!.id, attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 10_500, outcome: 'succeeded', error: 'reported after its lease expired' }]);
      expect((await h.store.attempts({ jobId: boom!.id })).map((a) => [a.attempt, a.outcome, a.error])).toEqual([[1, 'failed', 'boom (reported after its lease expired)']]);
      // Counted once: the same report again is stale.
      expect(await h.store.complete({ items: [{ id: ok!.id, token: tok(ok!.id), outcome: 'succeeded' }], now: T0 + 10_600 })).toEqual([{ id: ok!.id, status: 'stale' }]);
    });

    it('leaves a lease alone until it has expired', async () => {
      await enqueue({}, {});
      const [a, b] = await claim({ limit: 2, leaseMs: 10_000 });
      expect(await h.store.reapExpiredLeases({ now: T0 + 9_999 })).toEqual([]);
      // expiresAt is the last valid moment.
      expect(await h.store.reapExpiredLeases({ now: T0 + 10_000 })).toEqual([]);
      // A heartbeat keeps `b` alive past its first expiry.
      await h.store.heartbeat({ worker: 'w1', items: [{ id: b!.id, token: tokenOf(b!) }], leaseMs: 10_000, now: T0 + 9_000 });
      const reaped = await h.store.reapExpiredLeases({ now: T0 + 10_001 });
      expect(ids(reaped)).toEqual([a!.id]);
      expect(await mustGet(b!.id)).toMatchObject({ state: 'running', lease: { token: tokenOf(b!), expiresAt: T0 + 19_000 } });
      expect(await h.store.reapExpiredLeases({ now: T0 + 10_002 })).toEqual([]);
    });

    it('fails a job whose lost attempt was its last', async () => {
      const created = await enqueueOne({ maxAttempts: 1 });
      await claimOne({ leaseMs: 1_000 });
      const reaped = await h.store.reapExpiredLeases({ now: T0 + 5_000 });
      expect(reaped).toHaveLength(1);
      expect(reaped[0]).toMatchObject({ id: created.id, state: 'failed', lease: null, finishedAt: T0 + 5_000 });
      expect(reaped[0]?.error).toEqual(expect.any(String));
      expect((await h.store.attempts({ jobId: created.id })).map((a) => a.outcome)).toEqual(['lost']);
      expect(await claim({ now: T0 + 5_001 })).toEqual([]);
    });

    it('ends a job asked to stop in its stop reason', async () => {
      await enqueue({ maxAttempts: 5 }, { maxAttempts: 5, timeLimitMs: 500 });
      const [a, b] = await claim({ limit: 2, leaseMs: 1_000 });
      const canceled = a!.timeLimitMs === null ? a! : b!;
      const timed = a!.timeLimitMs === null ? b! : a!;
      await h.store.cancel({ id: canceled.id, now: T0 + 100 });
      expect(ids(await h.store.markTimedOut({ now: T0 + 500 }))).toEqual([timed.id]);
      const reaped = await h.store.reapExpiredLeases({ now: T0 + 2_000 });
      expect(sortedIds(reaped)).toEqual(sortedIds([a!, b!]));
      expect(await mustGet(canceled.id)).toMatchObject({ state: 'canceled', stopReason: null, lease: null, finishedAt: T0 + 2_000 });
      expect(await mustGet(timed.id)).toMatchObject({ state: 'timed_out', stopReason: null, lease: null, finishedAt: T0 + 2_000 });
      expect((await h.store.attempts({ jobId: canceled.id })).map((x) => x.outcome)).toEqual(['lost']);
      expect(await h.store.stopsFor({ worker: 'w1' })).toEqual([]);
    });

    it('reaps nothing when nothing runs', async () => {
      await enqueue({}, { runAt: T0 + 1 });
      expect(await h.store.reapExpiredLeases({ now: T0 + 1_000_000 })).toEqual([]);
    });
  });

  describe('markTimedOut', () => {
    it('marks a running job once its attempt has run for timeLimitMs', async () => {
      await enqueue({ timeLimitMs: 5_000 }, { timeLimitMs: null });
      const start = T0 + 10_000;
      const [a, b] = await claim({ limit: 2, leaseMs: 60_000, now: start });
      const limited = a!.timeLimitMs !== null ? a! : b!;
      const unlimited = a!.timeLimitMs !== null ? b! : a!;

      expect(await h.store.markTimedOut({ now: start + 4_999 })).toEqual([]);
      const marked = await h.store.markTimedOut({ now: start + 5_000 });
      expect(ids(marked)).toEqual([limited.id]);
      expect(marked[0]).toMatchObject({ state: 'running', stopReason: 'timed_out' });
      // Only newly marked jobs come back.
      expect(await h.store.markTimedOut({ now: start + 6_000 })).toEqual([]);
      expect(await h.store.markTimedOut({ now: start + 10_000_000 })).toEqual([]);

      expect(await h.store.stopsFor({ worker: 'w1' })).toEqual([{ id: limited.id, reason: 'timed_out' }]);
      expect(await h.store.heartbeat({ worker: 'w1', items: [{ id: limited.id, token: tokenOf(limited) }], leaseMs: 60_000, now: start + 6_000 })).toEqual([
        { id: limited.id, status: 'stop', reason: 'timed_out', leaseExpiresAt: start + 66_000 },
      ]);
      expect((await mustGet(unlimited.id)).stopReason).toBeNull();
    });

    it('counts the deadline from the start of the current attempt', async () => {
      await enqueueOne({ timeLimitMs: 5_000, maxAttempts: 3, backoffMs: 1_000 });
      const a1 = await claimOne({ now: T0 });
      await h.store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed' }], now: T0 + 1_000, random: () => 0 });
      await h.store.promoteDue({ now: T0 + 100_000 });
      await claimOne({ now: T0 + 100_000 });
      expect(await h.store.markTimedOut({ now: T0 + 104_999 })).toEqual([]);
      expect(await h.store.markTimedOut({ now: T0 + 105_000 })).toHaveLength(1);
    });

    it('does not mark a job that was already asked to stop', async () => {
      await enqueueOne({ timeLimitMs: 1_000 });
      const j = await claimOne();
      await h.store.cancel({ id: j.id, now: T0 + 10 });
      expect(await h.store.markTimedOut({ now: T0 + 2_000 })).toEqual([]);
      expect((await mustGet(j.id)).stopReason).toBe('canceled');
    });

    it('ignores jobs that are not running', async () => {
      await enqueue({ timeLimitMs: 1 }, { timeLimitMs: 1, runAt: T0 + 1 });
      expect(await h.store.markTimedOut({ now: T0 + 1_000_000 })).toEqual([]);
    });
  });
}
