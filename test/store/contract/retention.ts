import { describe, expect, it } from 'vitest';
import { type Harness, T0 } from './harness.js';

/** The contract, retention: finished jobs deleted in batches. */
export function retentionContract(h: Harness): void {
  const { enqueue } = h;
  describe('retention', () => {
    it('deletes finished jobs older than the cut-off in batches, with their logs, and nothing else', async () => {
      const jobs = await enqueue({}, {}, {}, {}, {});
      for (const j of jobs.slice(0, 3)) await h.store.cancel({ id: j.id, now: T0 + 10 });
      await h.store.appendLog({ jobId: jobs[0]!.id, chunks: [{ stream: 'stdout', text: 'x' }], now: T0 });
      // A job canceled after the cut-off stays.
      await h.store.cancel({ id: jobs[3]!.id, now: T0 + 100 });
      expect(await h.store.deleteFinished({ before: T0 + 50, limit: 2 })).toBe(2);
      expect(await h.store.deleteFinished({ before: T0 + 50, limit: 2 })).toBe(1);
      expect(await h.store.deleteFinished({ before: T0 + 50, limit: 2 })).toBe(0);
      const left = (await h.store.list({})).jobs.map((j) => j.id).sort();
      expect(left).toEqual([jobs[3]!.id, jobs[4]!.id].sort());
      expect(await h.store.readLog({ jobId: jobs[0]!.id, after: 0, limit: 10 })).toEqual([]);
    });

    it('deletes only the final states asked for, and never a job that has not finished', async () => {
      const jobs = await enqueue({}, {}, {}, {});
      await h.store.cancel({ id: jobs[0]!.id, now: T0 + 10 });
      const [running] = await h.claim({ limit: 1 });
      await h.store.complete({ items: [{ id: running!.id, token: h.tokenOf(running!), outcome: 'succeeded' }], now: T0 + 10 });
      expect(await h.store.deleteFinished({ before: T0 + 50, limit: 10, states: ['succeeded', 'queued', 'running'] })).toBe(1);
      expect(await h.store.get(running!.id)).toBeNull();
      expect((await h.store.get(jobs[0]!.id))?.state).toBe('canceled');
      expect(await h.store.deleteFinished({ before: T0 + 50, limit: 10, states: ['queued'] })).toBe(0);
      expect(await h.store.deleteFinished({ before: T0 + 50, limit: 10, states: [] })).toBe(0);
      expect(await h.store.deleteFinished({ before: T0 + 50, limit: 10 })).toBe(1);
      expect((await h.store.list({})).jobs).toHaveLength(2);
    });
  });
}
