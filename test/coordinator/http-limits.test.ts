import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { testServer } from '../support/server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const server = testServer;

/** Sends raw bytes on a fresh socket; resolves with all it got once the server closes it. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => sock.write(bytes));
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
  });
}

describe('the coordinator at its edge', () => {
  it('answers 408 and closes a client that announces a body and trickles it, yet lets a long poll wait past that time', async () => {
    const srv = await server({ requestTimeoutMs: 500 });
    const got = await rawExchange(srv.url, 'POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"kind":');
    expect(got.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    const api = new ApiClient({ servers: srv.url });
    cleanups.push(() => api.close());
    // A long poll of three request timeouts: its body is in, so it waits and answers.
    const waited = await api.post<{ jobs: unknown[] }>('/api/v1/lease', { worker: { name: 'w', kinds: ['noop'] }, limit: 1, wait: 1_500 }, { timeoutMs: 10_000 });
    expect(waited.jobs).toEqual([]);
  });

  it('closes the connection after refusing a token', async () => {
    const srv = await server({ tokens: { admin: 'admin-token-0123456789', worker: 'worker-token-0123456789' } });
    // Keep-alive asked for: without the close, this would wait for the keep-alive timeout (75 s).
    const got = await rawExchange(srv.url, 'GET /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nAuthorization: Bearer guess-1\r\n\r\n');
    expect(got.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(got.toLowerCase()).toContain('connection: close');
  });

  it('refuses JSON nested thousands deep in progress or a result with 400 naming the field', async () => {
    const srv = await server();
    const api = new ApiClient({ servers: srv.url });
    cleanups.push(() => api.close());
    await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });
    const [j] = (await api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker: { name: 'w', kinds: ['noop'] }, limit: 1 })).jobs;
    // As a probe sends it: the JSON text itself, nested 5,000 deep.
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const post = async (route: string, body: string) => {
      const res = await fetch(`${srv.url}/api/v1${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return [res.status, ((await res.json()) as { error?: { message: string } }).error?.message];
    };
    const lease = `"id":"${j!.id}","token":"${j!.lease.token}"`;
    expect(await post('/heartbeat', `{"worker":{"name":"w"},"jobs":[{${lease},"progress":${deep(5000)}}]}`)).toEqual([400, 'jobs[0].progress: nested deeper than 8 levels']);
    expect(await post('/complete', `{"items":[{${lease},"outcome":"succeeded","result":${deep(5000)}}]}`)).toEqual([400, 'items[0].result: nested deeper than 32 levels']);
    const [status, message] = await post('/complete', `{"items":[{${lease},"outcome":"succeeded","progress":{"message":"${'x'.repeat(70_000)}"}}]}`);
    expect([status, message]).toEqual([400, expect.stringMatching(/^items\[0\]\.progress: 700\d\d characters of JSON, at most 65536$/)]);
    // Nothing was lost: the job is still held and completes.
    expect((await api.post<{ answers: Array<{ state: string }> }>('/api/v1/complete', { items: [{ id: j!.id, token: j!.lease.token, outcome: 'succeeded', result: { a: { b: [1, 2, { c: 3 }] } } }] })).answers[0]!.state).toBe('succeeded');
  });
});
