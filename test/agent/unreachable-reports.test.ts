import { Outbox } from '../../src/agent/outbox.js';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { ApiClient } from '../../src/client/api-client.js';
import { startServer } from '../../src/coordinator/server.js';
import type { Attempt, Job } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { NoopRunner } from '../../src/runners/noop/noop-runner.js';
import { spawnDrover, startServer as startServerProcess, writeConfig } from '../support/drover.js';
import { startHoldingProxy } from '../support/holding-proxy.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a worker whose reports get no answer', () => {
  it('frees the slot when the run ends, bounds each report by a third of the lease TTL, keeps the lease while it retries, and delivers once answered', async () => {
    const dir = tempDir();
    const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), leaseTtlMs: 3_000, heartbeatIntervalMs: 300 });
    cleanups.push(() => srv.close());
    const proxy = await startHoldingProxy(srv.url);
    // Outcome reports reach the proxy and go no further; heartbeats and leases pass.
    proxy.hold((method, p) => method === 'POST' && p === '/api/v1/complete');
    const api = new ApiClient({ servers: [srv.url] });
    cleanups.push(() => api.close());
    const agent = new Agent({ name: 'w1', servers: [proxy.url], concurrency: 1, queues: [], runners: [new NoopRunner()], templates: new Map(), outputRoot: tempDir(), logDir: path.join(dir, 'logs'), shutdownGraceMs: 1000, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    const job = async (id: string) => (await api.get<{ job: Job; attempts: Attempt[] }>(`/api/v1/jobs/${id}`));
    const [a] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', params: { echo: 'a' } }] })).jobs;
    await waitFor(() => proxy.held.length >= 1, 30_000, "a's report to reach the proxy");
    // One slot, its job's outcome undelivered: the next job runs all the same.
    const [b] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', params: { echo: 'b' } }] })).jobs;
    await waitFor(async () => (await job(b!.id)).job.state === 'running', 30_000, 'b to be leased while a is unreported');
    // The unanswered report was given up after a third of the 3 s TTL and sent again, twice
    // at least, while the heartbeats kept a's lease: it never ran again.
    await waitFor(() => proxy.held.length >= 3, 30_000, 'the report to be sent again');
    expect((await job(a!.id)).job).toMatchObject({ state: 'running', attempt: 1 });
    proxy.release();
    await waitFor(async () => (await job(a!.id)).job.state === 'succeeded' && (await job(b!.id)).job.state === 'succeeded', 30_000, 'both delivered');
    expect((await job(a!.id)).attempts.map((t) => [t.attempt, t.outcome])).toEqual([[1, 'succeeded']]);
  });

  it('asks for jobs again as soon as a heartbeat is answered after an outage, instead of waiting out a lease request sent into it', async () => {
    const dir = tempDir();
    const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), leaseTtlMs: 3_000, heartbeatIntervalMs: 300, maxLongPollMs: 500 });
    cleanups.push(() => srv.close());
    const proxy = await startHoldingProxy(srv.url);
    const api = new ApiClient({ servers: [srv.url] });
    cleanups.push(() => api.close());
    // Its lease requests ask for 10 minutes: one held by the proxy waits that long for its answer.
    const agent = new Agent({ name: 'w1', servers: [proxy.url], concurrency: 1, queues: [], runners: [new NoopRunner()], templates: new Map(), outputRoot: tempDir(), logDir: path.join(dir, 'logs'), shutdownGraceMs: 1000, logger: silentLogger(), longPollMs: 600_000 });
    agent.start();
    cleanups.push(() => agent.shutdown());
    const state = async (id: string) => (await api.get<{ job: Job }>(`/api/v1/jobs/${id}`)).job.state;
    const [a] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', params: { echo: 'a' } }] })).jobs;
    await waitFor(async () => (await state(a!.id)) === 'succeeded', 30_000, 'a to run (the worker knows the lease TTL)');
    // The outage: nothing the worker sends is answered, until a lease request and a heartbeat are held.
    proxy.hold(() => true);
    await waitFor(() => proxy.held.includes('/api/v1/lease') && proxy.held.includes('/api/v1/heartbeat'), 30_000, 'a lease request and a heartbeat held');
    // Over: new requests pass; the held ones stay unanswered, as on a link that dropped them.
    proxy.hold(null);
    const [b] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', params: { echo: 'b' } }] })).jobs;
    await waitFor(async () => (await state(b!.id)) === 'succeeded', 45_000, 'b to run through a new lease request');
  });

  it('delivers an outcome after its lease expired, and it counts when no worker has taken the job since: once, the history saying so', async () => {
    const dir = tempDir();
    const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), leaseTtlMs: 2_000, heartbeatIntervalMs: 300 });
    cleanups.push(() => srv.close());
    const proxy = await startHoldingProxy(srv.url);
    const api = new ApiClient({ servers: [srv.url] });
    cleanups.push(() => api.close());
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const gated = { kind: 'noop', run: async () => (await gate, { outcome: 'succeeded' as const }) };
    const agent = new Agent({ name: 'w1', servers: [proxy.url], concurrency: 1, queues: [], runners: [gated], templates: new Map(), outputRoot: tempDir(), logDir: path.join(dir, 'logs'), shutdownGraceMs: 1000, longPollMs: 300, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    const job = async (id: string) => await api.get<{ job: Job; attempts: Attempt[] }>(`/api/v1/jobs/${id}`);
    const [a] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop' }] })).jobs;
    await waitFor(async () => (await job(a!.id)).job.state === 'running', 30_000, 'a to run');
    // The worker is cut off (every request it makes goes unanswered) and its run ends.
    proxy.hold(() => true);
    open();
    await waitFor(async () => (await job(a!.id)).job.state === 'queued', 30_000, "a's lease to expire");
    // The link is back, but for lease requests: nobody can take a again before the report is in.
    proxy.release((method, p) => p === '/api/v1/lease');
    await waitFor(async () => (await job(a!.id)).job.state === 'succeeded', 30_000, 'the late report to count');
    expect((await job(a!.id)).attempts.map((t) => [t.attempt, t.worker, t.outcome, t.error])).toEqual([[1, 'w1', 'succeeded', 'reported after its lease expired']]);
    proxy.release();
  });

  it('delivers at its next start an outcome a worker killed with SIGKILL had not delivered: the job runs once', async () => {
    const dir = tempDir();
    writeConfig(dir, 'server:\n  lease_ttl: 60s\n  heartbeat_interval: 500ms\n');
    const srv = await startServerProcess(dir);
    const proxy = await startHoldingProxy(srv.url);
    proxy.hold((method, p) => method === 'POST' && p === '/api/v1/complete');
    const api = new ApiClient({ servers: [srv.url] });
    cleanups.push(() => api.close());
    const first = spawnDrover(['worker', '--server', proxy.url, '--name', 'w1'], { cwd: dir });
    const [a] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', params: { echo: 'once' } }] })).jobs;
    await waitFor(() => proxy.held.length >= 1, 30_000, "the worker's report to be held");
    first.proc.kill('SIGKILL');
    await first.exited;
    expect((await api.get<{ job: Job }>(`/api/v1/jobs/${a!.id}`)).job.state).toBe('running');
    // Started again under its name, the coordinator in reach: it delivers what its dead self could not.
    spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir });
    await waitFor(async () => (await api.get<{ job: Job }>(`/api/v1/jobs/${a!.id}`)).job.state === 'succeeded', 30_000, 'the outcome to be delivered');
    const shown = await api.get<{ job: Job; attempts: Attempt[] }>(`/api/v1/jobs/${a!.id}`);
    expect(shown.job.result).toEqual({ echo: 'once' });
    expect(shown.attempts.map((t) => [t.attempt, t.worker, t.outcome])).toEqual([[1, 'w1', 'succeeded']]);
    await waitFor(() => Outbox.pendingIn(path.join(dir, 'drover-data', 'worker-logs', 'outbox', 'w1')).length === 0, 30_000, 'the outbox to be empty');
  });
});
