import { describe, expect, it } from 'vitest';
import { type Harness, LEASE, T0 } from './harness.js';

/** The contract, heartbeat: leases renewed, progress kept, stops told. */
export function heartbeatContract(h: Harness): void {
  const { enqueue, enqueueOne, claim, claimOne, mustGet, tokenOf } = h;
  describe('heartbeat', () => {
    it('renews the lease and stores progress', async () => {
      const j = await enqueueOne().then(() => claimOne());
      const progress = { bytes: 1_024, total: 4_096, speed: 512, eta: 6, percent: 25, message: 'downloading', fps: 25 };
      const answers = await h.store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j), progress }], leaseMs: 20_000, now: T0 + 10_000 });
      expect(answers).toEqual([{ id: j.id, status: 'ok', leaseExpiresAt: T0 + 30_000 }]);
      const got = await mustGet(j.id);
      expect(got.lease).toEqual({ worker: 'w1', token: tokenOf(j), expiresAt: T0 + 30_000 });
      expect(got.progress).toEqual(progress);
      expect(got.state).toBe('running');
    });

    it('keeps the last progress when a heartbeat carries none', async () => {
      const j = await enqueueOne().then(() => claimOne());
      await h.store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j), progress: { bytes: 10 } }], leaseMs: LEASE, now: T0 + 1 });
      await h.store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 2 });
      const got = await mustGet(j.id);
      expect(got.progress).toEqual({ bytes: 10 });
      expect(got.lease?.expiresAt).toBe(T0 + 2 + LEASE);
    });

    it('answers lost for a wrong token or an unknown job, and changes nothing', async () => {
      const j = await enqueueOne().then(() => claimOne());
      const before = await mustGet(j.id);
      const answers = await h.store.heartbeat({
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
      expect(await h.store.get(j.id)).toEqual(before);
    });

    it('answers one item per job, in order', async () => {
      await enqueue({}, {});
      const [a, b] = await claim({ limit: 2 });
      const answers = await h.store.heartbeat({
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
      await h.store.cancel({ id: j.id, now: T0 + 1_000 });
      const answers = await h.store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 2_000 });
      expect(answers).toEqual([{ id: j.id, status: 'stop', reason: 'canceled', leaseExpiresAt: T0 + 2_000 + LEASE }]);
      expect((await mustGet(j.id)).lease?.expiresAt).toBe(T0 + 2_000 + LEASE);
    });

    it('answers lost once the job is finished', async () => {
      const j = await enqueueOne().then(() => claimOne());
      await h.store.complete({ items: [{ id: j.id, token: tokenOf(j), outcome: 'succeeded' }], now: T0 + 1 });
      expect(await h.store.heartbeat({ worker: 'w1', items: [{ id: j.id, token: tokenOf(j) }], leaseMs: LEASE, now: T0 + 2 })).toEqual([
        { id: j.id, status: 'lost' },
      ]);
    });
  });
}
