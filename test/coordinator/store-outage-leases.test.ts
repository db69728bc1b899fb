import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Job } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { startServer } from '../../src/coordinator/server.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-store.js';
import type { JobStore } from '../../src/store/store.js';
import { tempDir } from '../support/tmp.js';

const T = Date.UTC(2026, 0, 1);
const TTL = 10_000;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A coordinator on a hand-moved clock with one job leased by w1; maintenance runs when told. */
async function leased() {
  const clock = new ManualClock(T);
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), clock, tickMs: 3_600_000, leaseTtlMs: TTL });
  const api = new ApiClient({ servers: [srv.url] });
  cleanups.push(async () => {
    await api.close();
    await srv.close();
  });
  const [job] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', params: {} }] })).jobs;
  const lease = await api.post<{ jobs: Job[] }>('/api/v1/lease', { worker: { name: 'w1', slots: 1, kinds: ['noop'], templates: [] }, queues: [], limit: 1, wait: 0 });
  expect(lease.jobs.map((j) => j.id)).toEqual([job!.id]);
  const state = async () => (await api.get<{ job: Job }>(`/api/v1/jobs/${job!.id}`)).job.state;
  return { clock, srv, state };
}

describe('leases while the store refused writes', () => {
  it('are voided a lease TTL after the last heartbeat, as always, when the store took every write', async () => {
    const { clock, srv, state } = await leased();
    clock.advance(TTL + 1);
    await srv.scheduler.tick();
    expect(await state()).toBe('queued');
  });

  it('are not voided until a lease TTL after the store last refused a write: its workers could not renew them', async () => {
    const { clock, srv, state } = await leased();
    clock.advance(TTL - 1_000);
    // A heartbeat answered 503 (the database down), as the HTTP layer tells the coordinator.
    srv.coordinator.storeUnavailable();
    clock.advance(5_000);
    await srv.scheduler.tick();
    expect(await state()).toBe('running');
    clock.advance(TTL);
    await srv.scheduler.tick();
    expect(await state()).toBe('queued');
  });
});

describe('a lease request whose worker goes away while the claim runs', () => {
  it('gives the jobs it claimed back at once (the attempt not counted), instead of leaving them to an answer nobody reads', async () => {
    // The real store, its claim held at a gate: the worker's request is aborted while it runs.
    const real = SqliteJobStore.open({ path: path.join(tempDir(), 'drover.db') });
    let entered!: () => void;
    const inClaim = new Promise<void>((r) => (entered = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const store = new Proxy(real, {
      get(target, key) {
        if (key === 'claim') return async (p: Parameters<JobStore['claim']>[0]) => (entered(), await gate, target.claim(p));
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as JobStore;
    const srv = await startServer({ port: 0, store, tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), tickMs: 3_600_000 });
    const api = new ApiClient({ servers: [srv.url] });
    cleanups.push(async () => {
      await api.close();
      await srv.close();
      await real.close();
    });
    const [job] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', params: {} }] })).jobs;
    const gone = new AbortController();
    const leasing = srv.coordinator.lease({ worker: { name: 'w1', host: 'h', kinds: ['noop'], templates: [], slots: 1, running: 0, version: 'test' }, queues: [], limit: 1, waitMs: 0, signal: gone.signal });
    await inClaim;
    gone.abort();
    open();
    expect(await leasing).toEqual([]);
    const shown = await api.get<{ job: Job; attempts: Array<{ outcome: string | null }> }>(`/api/v1/jobs/${job!.id}`);
    // Queued again, its attempt given back (one more allowed), the history saying why.
    expect(shown.job).toMatchObject({ state: 'queued', attempt: 1, maxAttempts: job!.maxAttempts + 1 });
    expect(shown.attempts.map((a) => a.outcome)).toEqual(['released']);
  });
});
