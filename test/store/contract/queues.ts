import { describe, expect, it } from 'vitest';
import { type Harness, T0 } from './harness.js';

/** The contract, paused queues: a paused queue leases nothing; its running jobs go on; resumed, it leases again. */
export function queuesContract(h: Harness): void {
  describe('paused queues', () => {
    it('leases nothing of a paused queue, the other queues as before; resumed, it leases again', async () => {
      const a = await h.enqueueOne({ queue: 'nvr' });
      const b = await h.enqueueOne({ queue: 'downloads' });
      const running = await h.claimOne({ queues: ['nvr'] }).catch(() => null);
      expect(running?.id).toBe(a.id);
      const c = await h.enqueueOne({ queue: 'nvr' });
      await h.store.setQueuePaused({ queue: 'nvr', paused: true, now: T0 + 1 });
      // Pausing again keeps the first time.
      await h.store.setQueuePaused({ queue: 'nvr', paused: true, now: T0 + 5 });
      expect(await h.store.pausedQueues()).toEqual([{ queue: 'nvr', pausedAt: T0 + 1 }]);
      expect((await h.claim()).map((j) => j.id)).toEqual([b.id]);
      expect(await h.claim({ queues: ['nvr'] })).toEqual([]);
      // What runs goes on: its heartbeat renews the lease.
      const [beat] = await h.store.heartbeat({ worker: 'w1', items: [{ id: a.id, token: h.tokenOf(running!), progress: null }], leaseMs: 30_000, now: T0 + 10 });
      expect(beat?.status).toBe('ok');
      await h.store.setQueuePaused({ queue: 'nvr', paused: false, now: T0 + 20 });
      expect(await h.store.pausedQueues()).toEqual([]);
      expect((await h.claim()).map((j) => j.id)).toEqual([c.id]);
    });
  });
}
