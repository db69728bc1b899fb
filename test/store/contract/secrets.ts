import { describe, expect, it } from 'vitest';
import { type Harness, T0 } from './harness.js';

/** The contract, secret params at rest: paging through the jobs that have secrets, replacing their params in batches. */
export function secretsContract(h: Harness): void {
  describe('secret params (drover secrets rotate)', () => {
    it('pages through the jobs with secrets only, ascending by id after the cursor', async () => {
      await h.enqueue(
        { params: { password: 'a', user: 'u' }, secrets: ['password'] },
        { params: { echo: 1 } },
        { params: { token: 7, n: true }, secrets: ['token'] },
        { params: {}, secrets: [] },
        { params: { k: 'x' }, secrets: ['k', 'other'] },
      );
      const first = await h.store.jobsWithSecrets({ after: null, limit: 2 });
      expect(first).toEqual([
        { id: 'j0001', params: { password: 'a', user: 'u' }, secrets: ['password'] },
        { id: 'j0003', params: { token: 7, n: true }, secrets: ['token'] },
      ]);
      expect(await h.store.jobsWithSecrets({ after: 'j0003', limit: 2 })).toEqual([{ id: 'j0005', params: { k: 'x' }, secrets: ['k', 'other'] }]);
      expect(await h.store.jobsWithSecrets({ after: 'j0005', limit: 2 })).toEqual([]);
    });

    it('replaces params in one batch, nothing else of the jobs, and counts the jobs it found', async () => {
      const [a, b] = await h.enqueue({ params: { password: 'a', user: 'u' }, secrets: ['password'] }, { params: { password: 'b' }, secrets: ['password'], runAt: T0 + 60_000 });
      const claimed = await h.claimOne();
      expect(claimed.id).toBe(a!.id);
      const waiting = await h.mustGet(b!.id);
      expect(await h.store.updateParams({ jobs: [{ id: a!.id, params: { password: 'sealed-a', user: 'u' } }, { id: b!.id, params: { password: 'sealed-b' } }, { id: 'j9999', params: {} }] })).toBe(2);
      expect(await h.mustGet(a!.id)).toEqual({ ...claimed, params: { password: 'sealed-a', user: 'u' } });
      expect(await h.mustGet(b!.id)).toEqual({ ...waiting, params: { password: 'sealed-b' } });
      expect(await h.store.updateParams({ jobs: [] })).toBe(0);
      // The lease holder still holds it: nothing but its params changed.
      expect((await h.store.complete({ items: [{ id: a!.id, token: h.tokenOf(claimed), outcome: 'succeeded' }], now: T0 + 1 }))[0]).toMatchObject({ status: 'ok', state: 'succeeded' });
    });
  });
}
