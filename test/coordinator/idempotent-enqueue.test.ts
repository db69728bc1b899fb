import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../src/client/api-client.js';
import { DroverClient } from '../../src/client/drover-client.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import type { Job } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { startHoldingProxy } from '../support/holding-proxy.js';
import { tempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<RunningServer> {
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger() });
  cleanups.push(() => srv.close());
  return srv;
}

const post = (srv: RunningServer, body: unknown, key?: string) =>
  fetch(`${srv.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) }, body: JSON.stringify(body) });
const queued = async (srv: RunningServer) => ((await (await fetch(`${srv.url}/api/v1/jobs/counts`)).json()) as { counts: Record<string, number> }).counts.queued;

describe('idempotent enqueues', () => {
  it('answers the same Idempotency-Key with the first answer and makes nothing; another body under it is 409; a bad key is 400', async () => {
    const srv = await server();
    const body = { jobs: [{ kind: 'noop', params: { echo: 'a' } }, { kind: 'noop', params: { echo: 'b' } }] };
    const first = await post(srv, body, 'nvr-13-import-1');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const made = ((await first.json()) as { jobs: Job[] }).jobs.map((j) => j.id);
    const again = await post(srv, body, 'nvr-13-import-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { jobs: Job[] }).jobs.map((j) => j.id)).toEqual(made);
    expect(await queued(srv)).toBe(2);
    const other = await post(srv, { kind: 'noop' }, 'nvr-13-import-1');
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringMatching(/^Idempotency-Key "nvr-13-import-1" was used within 24 h for another request/) } });
    const bad = await post(srv, { kind: 'noop' }, 'with space');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { field: 'Idempotency-Key' } });
    expect(await queued(srv)).toBe(2);
  });

  it("makes a job once per its own key across batches; a bad key names the job's field", async () => {
    const srv = await server();
    const a = (await (await post(srv, { jobs: [{ kind: 'noop', key: 'cam-1-2026-12-01' }, { kind: 'noop', key: 'cam-2-2026-12-01' }] })).json()) as { jobs: Job[] };
    const b = (await (await post(srv, { jobs: [{ kind: 'noop', key: 'cam-2-2026-12-01' }, { kind: 'noop', key: 'cam-3-2026-12-01' }] })).json()) as { jobs: Job[] };
    expect(b.jobs[0]!.id).toBe(a.jobs[1]!.id);
    expect(await queued(srv)).toBe(3);
    const bad = await post(srv, { jobs: [{ kind: 'noop' }, { kind: 'noop', key: 7 }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { field: 'jobs[1].key' } });
  });

  it('keeps at most one job of a unique key queued or running: its placeholders from the params, never a secret one', async () => {
    const srv = await server();
    const made = async (body: unknown) => ((await (await post(srv, body)).json()) as { jobs: Job[] }).jobs.map((j) => j.id);
    const [a] = await made({ kind: 'noop', params: { echo: 'nvr-13' }, unique: '{echo}-2026-12-01' });
    expect(await made({ kind: 'noop', params: { echo: 'nvr-13' }, unique: '{echo}-2026-12-01' })).toEqual([a]);
    const [b] = await made({ kind: 'noop', params: { echo: 'nvr-14' }, unique: '{echo}-2026-12-01' });
    expect(b).not.toBe(a);
    await fetch(`${srv.url}/api/v1/jobs/${a}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const [c] = await made({ kind: 'noop', params: { echo: 'nvr-13' }, unique: '{echo}-2026-12-01' });
    expect(c).not.toBe(a);
    expect(await queued(srv)).toBe(2);
    const secret = await post(srv, { kind: 'noop', params: { echo: 'pw' }, secrets: ['echo'], unique: 'x-{echo}' });
    expect(secret.status).toBe(400);
    expect(await secret.json()).toMatchObject({ error: { field: 'unique', message: expect.stringContaining('names a secret param') } });
    const missing = await post(srv, { jobs: [{ kind: 'noop' }, { kind: 'noop', unique: '{camera}' }] });
    expect(await missing.json()).toMatchObject({ error: { message: 'jobs[1].unique: missing param "camera"' } });
  });

  it('DroverClient retried on the next server after its answer was lost makes the job once', async () => {
    const srv = await server();
    const proxy = await startHoldingProxy(srv.url);
    // The first server takes the request to the coordinator, which makes the job; the answer is lost.
    proxy.loseAnswers((method, p) => method === 'POST' && p === '/api/v1/jobs');
    const client = new DroverClient({ server: [proxy.url, srv.url] });
    cleanups.push(() => client.close());
    const job = await client.enqueue({ kind: 'noop', params: { echo: 'once' } });
    expect(proxy.lost).toEqual(['/api/v1/jobs']);
    expect(await queued(srv)).toBe(1);
    expect((await client.get(job.id)).job.params).toEqual({ echo: 'once' });
    // Without a key, the same retry makes it twice: what the key is for.
    const bare = new ApiClient({ servers: [proxy.url, srv.url] });
    cleanups.push(() => bare.close());
    await bare.post('/api/v1/jobs', { kind: 'noop' });
    expect(await queued(srv)).toBe(3);
    await expect(bare.post('/api/v1/jobs', { kind: 'noop', key: 12 })).rejects.toBeInstanceOf(ApiError);
  });
});
