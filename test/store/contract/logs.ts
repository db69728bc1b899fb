import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../src/core/errors.js';
import { type Harness, T0 } from './harness.js';

/** The contract, logs and attempts. */
export function logsContract(h: Harness): void {
  const { enqueue, enqueueOne, claimOne, tokenOf } = h;
  describe('logs', () => {
    it('appends chunks with increasing seq and reads them back oldest first', async () => {
      const j = await enqueueOne();
      await h.store.appendLog({
        jobId: j.id,
        chunks: [
          { stream: 'stdout', text: 'line 1\n', ts: T0 + 1 },
          { stream: 'stderr', text: 'warn: ünïcode ✓\n', ts: T0 + 2 },
          { stream: 'drover', text: 'no ts given' },
        ],
        now: T0 + 10,
      });
      const got = await h.store.readLog({ jobId: j.id, after: 0, limit: 100 });
      expect(got.map((c) => ({ stream: c.stream, text: c.text, ts: c.ts }))).toEqual([
        { stream: 'stdout', text: 'line 1\n', ts: T0 + 1 },
        { stream: 'stderr', text: 'warn: ünïcode ✓\n', ts: T0 + 2 },
        { stream: 'drover', text: 'no ts given', ts: T0 + 10 },
      ]);
      const seqs = got.map((c) => c.seq);
      expect(seqs[0]).toBeGreaterThan(0);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);

      await h.store.appendLog({ jobId: j.id, chunks: [{ stream: 'stdout', text: 'line 4' }], now: T0 + 20 });
      const more = await h.store.readLog({ jobId: j.id, after: seqs[seqs.length - 1]!, limit: 100 });
      expect(more.map((c) => c.text)).toEqual(['line 4']);
      expect(more[0]!.seq).toBeGreaterThan(seqs[seqs.length - 1]!);
    });

    it('pages with `after` and `limit`', async () => {
      const j = await enqueueOne();
      await h.store.appendLog({ jobId: j.id, chunks: Array.from({ length: 7 }, (_, i) => ({ stream: 'stdout', text: `l${i}` })), now: T0 });
      const texts: string[] = [];
      let after = 0;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(10);
        const page = await h.store.readLog({ jobId: j.id, after, limit: 3 });
        expect(page.length).toBeLessThanOrEqual(3);
        if (page.length === 0) break;
        texts.push(...page.map((c) => c.text));
        after = page[page.length - 1]!.seq;
      }
      expect(texts).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6']);
    });

    it('keeps each job’s log separate', async () => {
      const [a, b] = await enqueue({}, {});
      await h.store.appendLog({ jobId: a!.id, chunks: [{ stream: 'stdout', text: 'a1' }], now: T0 });
      await h.store.appendLog({ jobId: b!.id, chunks: [{ stream: 'stdout', text: 'b1' }], now: T0 });
      await h.store.appendLog({ jobId: a!.id, chunks: [{ stream: 'stdout', text: 'a2' }], now: T0 });
      expect((await h.store.readLog({ jobId: a!.id, after: 0, limit: 10 })).map((c) => c.text)).toEqual(['a1', 'a2']);
      expect((await h.store.readLog({ jobId: b!.id, after: 0, limit: 10 })).map((c) => c.text)).toEqual(['b1']);
    });

    it('accepts an empty append', async () => {
      const j = await enqueueOne();
      await h.store.appendLog({ jobId: j.id, chunks: [], now: T0 });
      expect(await h.store.readLog({ jobId: j.id, after: 0, limit: 10 })).toEqual([]);
    });

    it('is a NotFoundError to append to an unknown job', async () => {
      await expect(h.store.appendLog({ jobId: 'nosuchjob', chunks: [{ stream: 'stdout', text: 'x' }], now: T0 })).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('attempts', () => {
    it('is empty for a job that never ran, or an unknown job', async () => {
      const j = await enqueueOne();
      expect(await h.store.attempts({ jobId: j.id })).toEqual([]);
      expect(await h.store.attempts({ jobId: 'nosuchjob' })).toEqual([]);
    });

    it('keeps the whole history of a job: failed, lost, succeeded', async () => {
      await enqueueOne({ maxAttempts: 3, backoffMs: 1_000 });
      const a1 = await claimOne({ worker: 'w1', now: T0 });
      await h.store.complete({ items: [{ id: a1.id, token: tokenOf(a1), outcome: 'failed', error: 'e1' }], now: T0 + 100, random: () => 0 });
      await h.store.promoteDue({ now: T0 + 10_000 });
      await claimOne({ worker: 'w2', now: T0 + 10_000, leaseMs: 1_000 });
      await h.store.reapExpiredLeases({ now: T0 + 20_000 });
      const a3 = await claimOne({ worker: 'w3', now: T0 + 30_000 });
      expect(a3.attempt).toBe(3);
      await h.store.complete({ items: [{ id: a3.id, token: tokenOf(a3), outcome: 'succeeded' }], now: T0 + 30_500 });
      const history = await h.store.attempts({ jobId: a1.id });
      expect(history.map((a) => ({ attempt: a.attempt, worker: a.worker, startedAt: a.startedAt, endedAt: a.endedAt, outcome: a.outcome }))).toEqual([
        { attempt: 1, worker: 'w1', startedAt: T0, endedAt: T0 + 100, outcome: 'failed' },
        { attempt: 2, worker: 'w2', startedAt: T0 + 10_000, endedAt: T0 + 20_000, outcome: 'lost' },
        { attempt: 3, worker: 'w3', startedAt: T0 + 30_000, endedAt: T0 + 30_500, outcome: 'succeeded' },
      ]);
      expect(history.every((a) => a.jobId === a1.id)).toBe(true);
    });
  });
}
