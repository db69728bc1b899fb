import { describe, expect, it } from 'vitest';
import type { Job } from '../../../src/core/job.js';
import { type Harness, T0 } from './harness.js';

/** The contract, parents and children: a success with children, a parent's end, cancel and retry down the tree. */
export function childrenContract(h: Harness): void {
  /** A running parent that reported `n` children; returns it and them. */
  const fanOut = async (n: number, over: { key?: string } = {}): Promise<{ parent: Job; kids: Job[] }> => {
    await h.enqueueOne(over.key ? { concurrencyKey: over.key, concurrencyLimit: 1 } : {});
    const p = await h.claimOne();
    const children = Array.from({ length: n }, () => h.job({ parentId: p.id }));
    const [a] = await h.store.complete({ items: [{ id: p.id, token: h.tokenOf(p), outcome: 'succeeded', result: { planned: n }, children }], now: T0 + 10 });
    expect(a).toMatchObject({ status: 'ok', state: 'awaiting_children' });
    return { parent: await h.mustGet(p.id), kids: await Promise.all(children.map((c) => h.mustGet(c.id))) };
  };
  const finish = async (j: Job, outcome: 'succeeded' | 'failed', now = T0 + 100) =>
    (await h.store.complete({ items: [{ id: j.id, token: h.tokenOf(j), outcome, retryable: false, error: outcome === 'failed' ? 'camera offline' : null }], now }))[0];

  describe('children', () => {
    it('a success with children creates them and waits for them, holding no lease or key slot', async () => {
      const { parent, kids } = await fanOut(3, { key: 'nvr1' });
      expect(parent).toMatchObject({ state: 'awaiting_children', lease: null, finishedAt: null, result: { planned: 3 } });
      expect(kids.every((k) => k.state === 'queued' && k.parentId === parent.id)).toBe(true);
      expect(h.sortedIds((await h.store.list({ parent: parent.id })).jobs)).toEqual(h.sortedIds(kids));
      expect((await h.store.counts({ parent: parent.id })).queued).toBe(3);
      expect((await h.store.attempts({ jobId: parent.id })).map((a) => a.outcome)).toEqual(['succeeded']);
      // Its key is free again: another job of the key may run.
      await h.enqueueOne({ concurrencyKey: 'nvr1', concurrencyLimit: 1 });
      expect((await h.claim()).length).toBe(4);
    });

    it('a parent ends succeeded when all its children did, failed naming those that did not', async () => {
      const { parent, kids } = await fanOut(2);
      const running = await h.claim();
      expect(await h.store.settleParents({ now: T0 + 50 })).toEqual([]);
      const [first] = running;
      const a = await finish(first as Job, 'succeeded');
      expect(a).toMatchObject({ status: 'ok', parentId: parent.id });
      expect(await h.store.settleParents({ ids: [parent.id], now: T0 + 150 })).toEqual([]);
      await finish(running[1] as Job, 'failed', T0 + 200);
      const [ended] = await h.store.settleParents({ ids: [parent.id], now: T0 + 300 });
      expect(ended).toMatchObject({ id: parent.id, state: 'failed', finishedAt: T0 + 300 });
      expect(ended?.error).toContain(`1 of 2 children did not succeed: ${running[1]?.id} failed (camera offline)`);
      expect(await h.store.settleParents({ now: T0 + 400 })).toEqual([]);
      expect(kids).toHaveLength(2);
    });

    it('cancels a waiting parent and its children down the tree; a retry re-runs only the children that did not succeed', async () => {
      const { parent } = await fanOut(3);
      const [done, busy] = await h.claim({ limit: 2 });
      await finish(done as Job, 'succeeded');
      const out = await h.store.cancel({ id: parent.id, now: T0 + 200 });
      expect(out.state).toBe('canceled');
      const states = Object.fromEntries((await h.store.list({ parent: parent.id })).jobs.map((j) => [j.id, [j.state, j.stopReason]]));
      expect(states[done!.id]).toEqual(['succeeded', null]);
      expect(states[busy!.id]).toEqual(['running', 'canceled']);
      expect(Object.values(states).filter(([s]) => s === 'canceled')).toHaveLength(1);
      await h.store.complete({ items: [{ id: busy!.id, token: h.tokenOf(busy!), outcome: 'canceled' }], now: T0 + 300 });

      const again = await h.store.retry({ id: parent.id, now: T0 + 400 });
      expect(again).toMatchObject({ state: 'awaiting_children', error: null, finishedAt: null });
      const after = (await h.store.list({ parent: parent.id })).jobs;
      expect(after.filter((j) => j.state === 'queued')).toHaveLength(2);
      expect((await h.mustGet(done!.id)).state).toBe('succeeded');
      for (const k of await h.claim()) await finish(k, 'succeeded', T0 + 500);
      expect((await h.store.settleParents({ now: T0 + 600 })).map((j) => [j.id, j.state])).toEqual([[parent.id, 'succeeded']]);
    });

    it('a child retried on its own makes its ended parent wait for it again, and end again with it', async () => {
      const { parent } = await fanOut(2);
      const [good, bad] = await h.claim();
      await finish(good as Job, 'succeeded');
      await finish(bad as Job, 'failed', T0 + 150);
      expect((await h.store.settleParents({ now: T0 + 200 }))[0]).toMatchObject({ id: parent.id, state: 'failed' });
      await h.store.retry({ id: bad!.id, now: T0 + 300 });
      expect(await h.mustGet(parent.id)).toMatchObject({ state: 'awaiting_children', error: null, finishedAt: null });
      // A parent that succeeded is left as it is: its children cannot be retried (they succeeded).
      await expect(h.store.retry({ id: good!.id, now: T0 + 310 })).rejects.toThrow();
      const [again] = await h.claim();
      expect(again?.id).toBe(bad!.id);
      await finish(again as Job, 'succeeded', T0 + 400);
      expect((await h.store.settleParents({ now: T0 + 500 })).map((j) => [j.id, j.state])).toEqual([[parent.id, 'succeeded']]);
    });

    it('a stop asked for while the parent planned wins: no children are made', async () => {
      await h.enqueueOne();
      const p = await h.claimOne();
      await h.store.cancel({ id: p.id, now: T0 + 5 });
      const [a] = await h.store.complete({ items: [{ id: p.id, token: h.tokenOf(p), outcome: 'succeeded', children: [h.job({ parentId: p.id })] }], now: T0 + 10 });
      expect(a).toMatchObject({ status: 'ok', state: 'canceled' });
      expect((await h.store.list({ parent: p.id })).jobs).toEqual([]);
    });
  });
}
