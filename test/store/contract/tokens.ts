import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/core/errors.js';
import type { StoredToken } from '../../../src/store/store.js';
import { type Harness, LEASE, T0 } from './harness.js';

/** The contract, access tokens: kept by name, found by id, revoked with their worker's leases. */
export function tokensContract(h: Harness): void {
  const { enqueue, enqueueOne, claim, claimOne, mustGet, tokenOf, sortedIds } = h;
  const token = (over: Partial<StoredToken> = {}): StoredToken => ({
    name: 'nvr-berlin',
    role: 'worker',
    id: 'drv_aaaaaaaaaa',
    hash: 'a'.repeat(64),
    queues: ['berlin', 'video'],
    createdAt: T0,
    expiresAt: T0 + 86_400_000,
    lastUsedAt: null,
    ...over,
  });

  describe('access tokens', () => {
    it('adds tokens, finds one by id and lists them by name, as stored', async () => {
      expect(await h.store.listTokens()).toEqual([]);
      await h.store.addToken(token());
      await h.store.addToken(token({ name: 'dash', role: 'read', id: 'drv_bbbbbbbbbb', hash: 'b'.repeat(64), queues: [], expiresAt: null }));
      await h.store.addToken(token({ name: 'ops', role: 'admin', id: 'drv_cccccccccc', hash: 'c'.repeat(64), queues: [] }));
      expect(await h.store.tokenById('drv_aaaaaaaaaa')).toEqual(token());
      expect(await h.store.tokenById('drv_zzzzzzzzzz')).toBeNull();
      expect((await h.store.listTokens()).map((t) => [t.name, t.role, t.queues, t.expiresAt])).toEqual([
        ['dash', 'read', [], null],
        ['nvr-berlin', 'worker', ['berlin', 'video'], T0 + 86_400_000],
        ['ops', 'admin', [], T0 + 86_400_000],
      ]);
    });

    it('refuses a second token of one name, and one whose id is taken', async () => {
      await h.store.addToken(token());
      await expect(h.store.addToken(token({ id: 'drv_dddddddddd' }))).rejects.toThrow(ConflictError);
      await expect(h.store.addToken(token({ id: 'drv_dddddddddd' }))).rejects.toThrow(/a token named nvr-berlin exists already/);
      await expect(h.store.addToken(token({ name: 'other' }))).rejects.toThrow(ConflictError);
      expect((await h.store.listTokens()).map((t) => t.id)).toEqual(['drv_aaaaaaaaaa']);
    });

    it('records its last use, never moving it back', async () => {
      await h.store.addToken(token());
      await h.store.touchToken({ id: 'drv_aaaaaaaaaa', now: T0 + 5_000 });
      expect((await h.store.tokenById('drv_aaaaaaaaaa'))?.lastUsedAt).toBe(T0 + 5_000);
      await h.store.touchToken({ id: 'drv_aaaaaaaaaa', now: T0 + 1_000 });
      expect((await h.store.tokenById('drv_aaaaaaaaaa'))?.lastUsedAt).toBe(T0 + 5_000);
      await h.store.touchToken({ id: 'drv_nobody0000', now: T0 + 9_000 });
      expect((await h.store.listTokens()).map((t) => t.lastUsedAt)).toEqual([T0 + 5_000]);
    });

    it('deletes a token by name, answering what it was; the name is free again', async () => {
      await h.store.addToken(token());
      expect(await h.store.deleteToken('nvr-berlin')).toEqual(token());
      expect(await h.store.deleteToken('nvr-berlin')).toBeNull();
      expect(await h.store.tokenById('drv_aaaaaaaaaa')).toBeNull();
      await h.store.addToken(token({ id: 'drv_eeeeeeeeee' }));
      expect((await h.store.listTokens()).map((t) => t.id)).toEqual(['drv_eeeeeeeeee']);
    });

    it('is seen by another coordinator on the same database', async () => {
      const other = await h.another();
      await h.store.addToken(token());
      expect(await other.tokenById('drv_aaaaaaaaaa')).toEqual(token());
      await other.deleteToken('nvr-berlin');
      expect(await h.store.tokenById('drv_aaaaaaaaaa')).toBeNull();
    });
  });

  describe('revokeLeases', () => {
    it("gives back the worker's running jobs at once, the attempt refunded and recorded as lost, its place in the queue kept; others' stay", async () => {
      await enqueue({ maxAttempts: 1, concurrencyKey: 'nvr', concurrencyLimit: 1 }, {}, {});
      const mine = await claim({ worker: 'nvr-berlin', limit: 2 });
      const theirs = await claimOne({ worker: 'nvr-paris' });
      expect(mine).toHaveLength(2);
      const revoked = await h.store.revokeLeases({ worker: 'nvr-berlin', now: T0 + 1_000 });
      expect(sortedIds(revoked)).toEqual(sortedIds(mine));
      for (const j of revoked) {
        expect(j).toMatchObject({ state: 'queued', runAt: T0, lease: null, finishedAt: null, error: 'lease revoked: the token of worker nvr-berlin was revoked' });
        expect(await h.store.get(j.id)).toEqual(j);
        expect(await h.store.attempts({ jobId: j.id })).toEqual([
          { jobId: j.id, attempt: 1, worker: 'nvr-berlin', startedAt: T0, endedAt: T0 + 1_000, outcome: 'lost', error: 'lease revoked: the token of worker nvr-berlin was revoked' },
        ]);
      }
      // Its one attempt was refunded: it runs again instead of failing.
      const keyed = revoked.find((j) => j.concurrencyKey === 'nvr');
      expect(keyed?.maxAttempts).toBe(2);
      expect(await mustGet(theirs.id)).toMatchObject({ state: 'running', lease: { worker: 'nvr-paris', token: tokenOf(theirs) } });

      // The revoked worker is fenced off; another takes the jobs, the key's slot free again.
      const first = mine[0]!;
      expect(await h.store.heartbeat({ worker: 'nvr-berlin', items: [{ id: first.id, token: tokenOf(first) }], leaseMs: LEASE, now: T0 + 1_001 })).toEqual([{ id: first.id, status: 'lost' }]);
      expect(await h.store.complete({ items: [{ id: first.id, token: tokenOf(first), outcome: 'succeeded' }], now: T0 + 1_001 })).toEqual([{ id: first.id, status: 'stale' }]);
      expect(sortedIds(await claim({ worker: 'nvr-munich', now: T0 + 1_002 }))).toEqual(sortedIds(mine));
      expect(await h.store.revokeLeases({ worker: 'nvr-berlin', now: T0 + 2_000 })).toEqual([]);
    });

    it('ends a job asked to stop in its stop reason', async () => {
      const j = await enqueueOne();
      await claimOne({ worker: 'nvr-berlin' });
      await h.store.cancel({ id: j.id, now: T0 + 500 });
      const [revoked] = await h.store.revokeLeases({ worker: 'nvr-berlin', now: T0 + 1_000 });
      expect(revoked).toMatchObject({ id: j.id, state: 'canceled', finishedAt: T0 + 1_000, lease: null });
      expect(await h.store.stopsFor({ worker: 'nvr-berlin' })).toEqual([]);
    });

    it('takes nothing from a worker holding no lease', async () => {
      await enqueueOne();
      expect(await h.store.revokeLeases({ worker: 'nobody', now: T0 })).toEqual([]);
      expect((await h.store.counts({})).queued).toBe(1);
    });
  });
}
