import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ srv: RunningServer; api: ApiClient }> {
  // Long polls may outlast the test: an answer to one came from a wake-up, not from its time running out.
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), maxLongPollMs: 600_000 });
  cleanups.push(() => srv.close());
  const api = new ApiClient({ servers: srv.url });
  cleanups.push(() => api.close());
  return { srv, api };
}

const worker = (name: string) => ({ name, kinds: ['noop'], templates: [] });
const lease = async (api: ApiClient, name: string, limit = 10) => (await api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker: worker(name), limit })).jobs;
const complete = (api: ApiClient, j: LeasedJob, body: object) => api.post<{ answers: Array<{ id: string; status: string; state: string }> }>('/api/v1/complete', { items: [{ id: j.id, token: j.lease.token, outcome: 'succeeded', ...body }] });
const job = async (api: ApiClient, id: string) => (await api.get<{ job: Job }>(`/api/v1/jobs/${id}`)).job;

describe('coordinator: jobs that make child jobs', () => {
  it('makes the children its own (owner, queue, priority), and ends the parent when the last child ends', async () => {
    const { api } = await setup();
    const [p] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop', queue: 'nvr', priority: 5, owner: 'ops' })).jobs;
    const [leased] = await lease(api, 'w1');
    const done = await complete(api, leased!, { children: [{ kind: 'noop', params: { echo: 1 } }, { kind: 'noop', priority: 9, owner: 'mallory' }] });
    expect(done.answers).toEqual([{ id: p!.id, status: 'ok', state: 'awaiting_children' }]);
    const kids = (await api.get<{ jobs: Job[] }>(`/api/v1/jobs?parent=${p!.id}`)).jobs;
    expect(kids.map((k) => [k.queue, k.priority, k.owner, k.parentId]).sort()).toEqual([['nvr', 5, 'ops', p!.id], ['nvr', 9, 'ops', p!.id]]);
    for (const k of await lease(api, 'w1')) await complete(api, k, {});
    expect(await job(api, p!.id)).toMatchObject({ state: 'succeeded', progress: { children: 2, succeeded: 2 } });
  });

  it('fails the parent without retries, naming the child that cannot be made, and makes none', async () => {
    const { api } = await setup();
    const [p] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop', maxAttempts: 5 })).jobs;
    const [leased] = await lease(api, 'w1');
    const done = await complete(api, leased!, { children: [{ kind: 'noop' }, { kind: 'nope' }] });
    expect(done.answers[0]).toMatchObject({ state: 'failed' });
    const after = await job(api, p!.id);
    expect(after.error).toMatch(/^its child jobs cannot be made: jobs\[1\]\.kind: unknown kind "nope"/);
    expect((await api.get<{ jobs: Job[] }>(`/api/v1/jobs?parent=${p!.id}`)).jobs).toEqual([]);
  });

  it('a cancel of a waiting parent wakes the stop long poll of the worker running its child', async () => {
    const { srv, api } = await setup();
    const [p] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' })).jobs;
    const [leased] = await lease(api, 'planner');
    await complete(api, leased!, { children: [{ kind: 'noop' }, { kind: 'noop' }] });
    const [running] = await lease(api, 'w2', 1);
    const stops = api.get<{ stops: Array<{ id: string; reason: string }> }>(`/api/v1/workers/w2/stops?wait=600000`, { timeoutMs: 600_000 });
    // The poll is parked before the cancel: only a wake-up can answer it in time.
    await waitFor(() => srv.coordinator.stopPolls('w2') === 1, 10_000, 'the stop poll to wait');
    const canceled = await api.post<{ job: Job }>(`/api/v1/jobs/${p!.id}/cancel`, {});
    expect(canceled.job.state).toBe('canceled');
    expect((await stops).stops).toEqual([{ id: running!.id, reason: 'canceled' }]);
    const kids = (await api.get<{ jobs: Job[] }>(`/api/v1/jobs?parent=${p!.id}`)).jobs;
    expect(kids.map((k) => k.state).sort()).toEqual(['canceled', 'running']);
  });

  it('a child retried on its own makes its failed parent wait again, and end with it', async () => {
    const { api } = await setup();
    const [p] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' })).jobs;
    await complete(api, (await lease(api, 'w1'))[0]!, { children: [{ kind: 'noop' }] });
    const [kid] = await lease(api, 'w1');
    await complete(api, kid!, { outcome: 'failed', retryable: false, error: 'camera offline' });
    expect(await job(api, p!.id)).toMatchObject({ state: 'failed' });
    await api.post(`/api/v1/jobs/${kid!.id}/retry`, {});
    expect(await job(api, p!.id)).toMatchObject({ state: 'awaiting_children', error: null });
    await complete(api, (await lease(api, 'w1'))[0]!, {});
    expect(await job(api, p!.id)).toMatchObject({ state: 'succeeded' });
  });
});
