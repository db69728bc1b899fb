import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/core/errors.js';
import { type Job } from '../../../src/core/job.js';
import { type Harness, T0 } from './harness.js';

/** The contract, enqueue: every field stored as given, all or nothing. */
export function enqueueContract(h: Harness): void {
  const { job, enqueue, enqueueOne, mustGet, ids } = h;
  describe('enqueue', () => {
    it('stores every field exactly as given and returns the stored job', async () => {
      const input = job({
        queue: 'media',
        kind: 'exec',
        template: 'hik-download',
        params: { camera: 'cam 1', channel: 101, audio: false, ratio: 1.5, password: 's3cret' },
        secrets: ['password'],
        owner: 'alice',
        tags: ['nvr-1', 'night', 'b'],
        priority: 7,
        runAt: T0 - 5_000,
        maxAttempts: 5,
        backoffMs: 1_234,
        backoffMaxMs: 98_765,
        timeLimitMs: 60_000,
        concurrencyKey: '10.0.0.5',
        concurrencyLimit: 2,
      });
      const [created] = await h.store.enqueue({ jobs: [input], now: T0 });
      const expected: Job = {
        ...input,
        state: 'queued',
        attempt: 0,
        lease: null,
        stopReason: null,
        progress: null,
        result: null,
        error: null,
        createdAt: T0,
        updatedAt: T0,
        startedAt: null,
        finishedAt: null,
      };
      expect(created).toEqual(expected);
      // Unredacted: secret params come back as given (redaction is the API's job).
      expect(await h.store.get(input.id)).toEqual(expected);
    });

    it('keeps null and empty values and a negative priority as given', async () => {
      const input = job({ priority: -3, params: {}, tags: [], secrets: [], owner: null, template: null, timeLimitMs: null });
      await h.store.enqueue({ jobs: [input], now: T0 });
      const got = await mustGet(input.id);
      expect(got).toMatchObject({
        priority: -3,
        params: {},
        tags: [],
        secrets: [],
        owner: null,
        template: null,
        timeLimitMs: null,
        concurrencyKey: null,
        concurrencyLimit: null,
      });
    });

    it('makes a job waiting when runAt is in the future and queued when it is now or past', async () => {
      const [future, present, past] = await enqueue({ runAt: T0 + 1 }, { runAt: T0 }, { runAt: T0 - 60_000 });
      expect(future?.state).toBe('waiting');
      expect(present?.state).toBe('queued');
      expect(past?.state).toBe('queued');
      expect((await mustGet(future!.id)).state).toBe('waiting');
      expect((await mustGet(present!.id)).state).toBe('queued');
      expect((await mustGet(past!.id)).runAt).toBe(T0 - 60_000);
    });

    it('returns the jobs in input order', async () => {
      const out = await h.store.enqueue({ jobs: [job({ id: 'c0003' }), job({ id: 'a0001' }), job({ id: 'b0002' })], now: T0 });
      expect(ids(out)).toEqual(['c0003', 'a0001', 'b0002']);
    });

    it('returns [] for an empty batch', async () => {
      expect(await h.store.enqueue({ jobs: [], now: T0 })).toEqual([]);
      expect((await h.store.list({})).jobs).toEqual([]);
    });

    it('inserts nothing when a batch holds a duplicate id', async () => {
      const batch = [job({ id: 'dup00001' }), job({ id: 'oth00002' }), job({ id: 'dup00001', queue: 'other' })];
      await expect(h.store.enqueue({ jobs: batch, now: T0 })).rejects.toBeInstanceOf(ConflictError);
      expect(await h.store.get('dup00001')).toBeNull();
      expect(await h.store.get('oth00002')).toBeNull();
      expect((await h.store.list({})).jobs).toEqual([]);
    });

    it('inserts nothing when an id already exists, and leaves the existing job alone', async () => {
      const existing = await enqueueOne({ id: 'old00001', owner: 'alice' });
      const batch = [job({ id: 'new00002' }), job({ id: 'old00001', owner: 'mallory' })];
      await expect(h.store.enqueue({ jobs: batch, now: T0 + 1 })).rejects.toBeInstanceOf(ConflictError);
      expect(await h.store.get('new00002')).toBeNull();
      expect(await h.store.get('old00001')).toEqual(existing);
    });
  });
}
