import { describe, expect, it } from 'vitest';
import type { WorkerInfo } from '../../../src/core/reports.js';
import { type Harness, T0 } from './harness.js';

/** The contract, workers: the registry. */
export function workersContract(h: Harness): void {
  describe('workers', () => {
    const info = (over: Partial<WorkerInfo> = {}): WorkerInfo => ({
      name: 'w1',
      host: 'box-1',
      kinds: ['exec', 'noop'],
      templates: [{ name: 'dl', kind: 'exec', required: ['url'], secrets: ['token'], params: {}, concurrency: null, timeLimitMs: null, maxAttempts: null, backoffMs: null }],
      slots: 4,
      running: 0,
      version: '0.1.0',
      ...over,
    });

    it('lists nothing before any worker registers', async () => {
      expect(await h.store.listWorkers()).toEqual([]);
    });

    it('records a worker and updates it, keeping when it was first seen', async () => {
      await h.store.upsertWorker({ worker: info(), now: T0 });
      expect(await h.store.listWorkers()).toEqual([{ ...info(), firstSeen: T0, lastSeen: T0 }]);

      const updated = info({ running: 3, host: 'box-2', kinds: ['noop'], templates: [], version: '0.2.0' });
      await h.store.upsertWorker({ worker: updated, now: T0 + 5_000 });
      expect(await h.store.listWorkers()).toEqual([{ ...updated, firstSeen: T0, lastSeen: T0 + 5_000 }]);
    });

    it('records a heartbeat: last seen and running change, the rest stays; an unknown worker is left out', async () => {
      await h.store.upsertWorker({ worker: info({ running: 1 }), now: T0 });
      await h.store.touchWorker({ name: 'w1', running: 3, now: T0 + 10_000 });
      await h.store.touchWorker({ name: 'nobody', running: 1, now: T0 + 10_000 });
      expect(await h.store.listWorkers()).toEqual([{ ...info({ running: 3 }), firstSeen: T0, lastSeen: T0 + 10_000 }]);
    });

    it('counts the running jobs each worker holds a lease on, and forgets workers gone before a time', async () => {
      await h.enqueue({}, {}, {}, {});
      await h.claim({ worker: 'wa', limit: 2 });
      const [c] = await h.claim({ worker: 'wb', limit: 1 });
      await h.store.complete({ items: [{ id: c!.id, token: h.tokenOf(c!), outcome: 'succeeded' }], now: T0 + 1 });
      await h.claim({ worker: 'wb', limit: 1 });
      expect(await h.store.runningByWorker()).toEqual({ wa: 2, wb: 1 });
      await h.store.upsertWorker({ worker: info({ name: 'old' }), now: T0 });
      await h.store.upsertWorker({ worker: info({ name: 'new' }), now: T0 + 60_000 });
      expect(await h.store.deleteWorkers({ before: T0 + 1 })).toBe(1);
      expect((await h.store.listWorkers()).map((w) => w.name)).toEqual(['new']);
    });

    it('lists every worker', async () => {
      await h.store.upsertWorker({ worker: info({ name: 'wb' }), now: T0 });
      await h.store.upsertWorker({ worker: info({ name: 'wa', slots: 1 }), now: T0 + 1 });
      const all = (await h.store.listWorkers()).sort((x, y) => (x.name < y.name ? -1 : 1));
      expect(all).toEqual([
        { ...info({ name: 'wa', slots: 1 }), firstSeen: T0 + 1, lastSeen: T0 + 1 },
        { ...info({ name: 'wb' }), firstSeen: T0, lastSeen: T0 },
      ]);
    });
  });
}
