import { describe, expect, it } from 'vitest';
import type { ListFilter } from '../../../src/core/job-filter.js';
import { type Harness, T0 } from './harness.js';

/**
 * The contract, text search (`q`): the same jobs are found with the search index off, built
 * before the jobs came (kept by the store on every change) and built over jobs already there.
 */
export function searchContract(h: Harness): void {
  const { job, claim, tokenOf, zeroCounts } = h;
  const listIds = async (f: ListFilter) => (await h.store.list({ ...f, limit: 1000 })).jobs.map((j) => j.id).sort();

  describe('text search', () => {
    for (const index of ['off', 'built before', 'built after'] as const) {
      it(`searches ids, errors and param values, never secret params (search index ${index})`, async () => {
        if (index === 'built before') expect(await h.store.setSearchIndex({ on: true })).toEqual({ change: 'built', jobs: 0 });
        await h.store.enqueue({
          now: T0,
          jobs: [
            job({ id: 'sa', params: { camera: 'Lobby-East', url: 'http://nvr1/a_b%c' } }),
            job({ id: 'sb', params: { camera: 'garage', password: 'lobbypass' }, secrets: ['password'] }),
            job({ id: 'sc', params: { n: 42, note: 'say "cheese" \\o/' } }),
            job({ id: 'sd', params: { camera: 'Café-Ünter' } }),
            // Long texts alike at both ends: the exact match tells them apart.
            job({ id: 'se', params: { url: 'rtsp://nvr-9.example.net/Streaming/tracks/101?clip=0' } }),
            job({ id: 'sf', params: { url: 'rtsp://nvr-9.example.net/Streaming/tracks/201?clip=0' } }),
          ],
        });
        const [running] = await claim({ kinds: ['noop'], limit: 1 });
        await h.store.complete({ items: [{ id: running!.id, token: tokenOf(running!), outcome: 'failed', error: 'NVR refused: 401 Unauthorized', retryable: false }], now: T0 + 10 });
        if (index === 'built after') expect(await h.store.setSearchIndex({ on: true })).toEqual({ change: 'built', jobs: 6 });
        if (index !== 'off') expect(await h.store.setSearchIndex({ on: true })).toEqual({ change: null, jobs: 0 });

        expect(await listIds({ q: 'lobby' })).toEqual(['sa']);
        expect(await listIds({ q: 'LOBBYPASS' })).toEqual([]);
        expect(await listIds({ q: 'bypa' })).toEqual([]);
        expect(await listIds({ q: 'garage' })).toEqual(['sb']);
        expect(await listIds({ q: 'unauthorized' })).toEqual([running!.id]);
        expect(await listIds({ q: 'sc' })).toEqual(['sc']);
        expect(await listIds({ q: '42' })).toEqual(['sc']);
        expect(await listIds({ q: '"cheese"' })).toEqual(['sc']);
        expect(await listIds({ q: '\\o/' })).toEqual(['sc']);
        expect(await listIds({ q: 'é-Ü' })).toEqual(['sd']);
        expect(await listIds({ q: 'rtsp://nvr-9.example.net/Streaming/tracks/101?clip=0' })).toEqual(['se']);
        expect(await listIds({ q: 'clip=0' })).toEqual(['se', 'sf']);
        expect(await listIds({ q: 'tracks/2' })).toEqual(['sf']);
        // A text spanning two values is not in either.
        expect(await listIds({ q: 'East http' })).toEqual([]);
        // LIKE's wildcards are matched as themselves.
        expect(await listIds({ q: 'a_b%c' })).toEqual(['sa']);
        expect(await listIds({ q: '%' })).toEqual(['sa']);
        expect(await listIds({ q: '_' })).toEqual(['sa']);
        expect(await h.store.counts({ q: 'garage' })).toEqual({ ...zeroCounts(), queued: 1 });
        expect(await h.store.counts({ q: 'refused' })).toEqual({ ...zeroCounts(), failed: 1 });

        // Kept on every change: a retry clears the error, a new failure writes another, deleted jobs go.
        await h.store.retry({ id: running!.id, now: T0 + 20 });
        expect(await listIds({ q: 'unauthorized' })).toEqual([]);
        const [again] = await claim({ kinds: ['noop'], limit: 10 }).then((js) => js.filter((j) => j.id === running!.id));
        await h.store.complete({ items: [{ id: again!.id, token: tokenOf(again!), outcome: 'failed', error: 'disk full on /rec', retryable: false }], now: T0 + 30 });
        expect(await listIds({ q: 'disk full' })).toEqual([running!.id]);
        expect(await h.store.deleteFinished({ before: T0 + 1_000, limit: 10 })).toBe(1);
        expect(await listIds({ q: 'disk full' })).toEqual([]);
        expect(await listIds({ q: running!.id })).not.toContain(running!.id);

        if (index !== 'off') {
          expect(await h.store.setSearchIndex({ on: false })).toEqual({ change: 'dropped', jobs: 0 });
          expect(await h.store.setSearchIndex({ on: false })).toEqual({ change: null, jobs: 0 });
          expect(await listIds({ q: 'garage' })).toEqual(['sb']);
        }
      });
    }

    it('finds a text common to more jobs than the index narrows to, page by page', async () => {
      await h.store.setSearchIndex({ on: true });
      const n = 5_200;
      await h.store.enqueue({ now: T0, jobs: Array.from({ length: n }, (_, i) => job({ id: `c${String(i).padStart(5, '0')}`, params: { camera: i % 2 ? 'cam-common' : 'cam-other' } })) });
      expect(await h.store.counts({ q: 'common' })).toEqual({ ...zeroCounts(), queued: n / 2 });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await h.store.list({ q: 'common', limit: 1000, ...(cursor ? { cursor } : {}) });
        seen.push(...page.jobs.map((j) => j.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toHaveLength(n / 2);
      expect(seen.every((id) => Number(id.slice(1)) % 2 === 1)).toBe(true);
      expect(await listIds({ q: 'c00007' })).toEqual(['c00007']);
    });
  });
}
