import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import { openFileLimit } from '../../src/coordinator/connections.js';
import type { RunningServer } from '../../src/coordinator/server.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { testServer } from '../support/server.js';
import { waitFor } from '../support/tmp.js';

/** Slow and many clients: idle connections, the connection cap, the long-poll caps. */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const server = testServer;

function api(srv: RunningServer): ApiClient {
  const c = new ApiClient({ servers: srv.url });
  cleanups.push(() => c.close());
  return c;
}

/** A connection that sends `bytes` (maybe none) and then nothing; `closed` resolves when either side ends it. */
interface Idle {
  socket: net.Socket;
  got: string;
  closed: Promise<void>;
  isClosed: boolean;
}

/** Opens `n` idle connections to `url`, `bytes(i)` sent on the i-th; resolves once each is connected. */
async function idle(url: string, n: number, bytes: (i: number) => string = () => ''): Promise<Idle[]> {
  const { hostname, port } = new URL(url);
  const open = (i: number) =>
    new Promise<Idle>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      const c: Idle = { socket, got: '', isClosed: false, closed: new Promise((r) => socket.once('close', () => r())) };
      void c.closed.then(() => (c.isClosed = true));
      socket.on('data', (d) => (c.got += d.toString()));
      // A refused connection may be reset: that is its close, not the test's failure.
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        const b = bytes(i);
        if (b) socket.write(b);
        resolve(c);
      });
      socket.once('close', () => reject(new Error(`connection ${i} closed before it connected`)));
    });
  const all: Idle[] = [];
  cleanups.push(() => all.forEach((c) => c.socket.destroy()));
  // In batches: a burst of thousands of SYNs would overrun the listen backlog and wait on retransmits.
  for (let i = 0; i < n; i += 200) all.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, k) => open(i + k)))));
  return all;
}

/** A metric's value in the coordinator's exposition (read in-process: at the connection cap HTTP would be refused). */
async function metric(srv: RunningServer, line: string): Promise<number> {
  const { text } = await srv.coordinator.metricsText();
  const m = new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** A request by fetch that the test may abort; resolves with its status, body and headers. */
function request(srv: RunningServer, route: string, init: { method?: string; body?: unknown } = {}) {
  const ac = new AbortController();
  const done = fetch(srv.url + route, {
    method: init.method ?? 'GET',
    signal: ac.signal,
    ...(init.body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }),
  }).then(
    async (res) => ({ status: res.status, body: (await res.json()) as { error?: { code: string; message: string } }, retryAfter: res.headers.get('retry-after') }),
    (err: unknown) => ({ status: 0, body: { error: { code: 'aborted', message: String(err) } }, retryAfter: null }),
  );
  cleanups.push(async () => {
    ac.abort();
    await done;
  });
  return { done, abort: () => ac.abort() };
}

const leaseBody = (name: string, wait: number) => ({ worker: { name, kinds: ['noop'] }, limit: 1, wait });

// The client's 2,000 sockets and the coordinator's 2,000 live in this one process.
const IDLE = 2_000;
const fdLimit = openFileLimit();
const enoughFds = fdLimit === null || fdLimit >= 2 * IDLE + 500;
if (!enoughFds) console.warn(`many-clients: ${2 * IDLE + 500} open files needed, the limit is ${fdLimit}: the 2,000-connection test is skipped; raise the hard limit (ulimit -Hn)`);

describe('slow and many clients', () => {
  it.skipIf(!enoughFds)(`serves a client and a worker while ${IDLE} idle connections are held open`, async () => {
    // No request timeout within the test: the idle connections stay pinned for all of it, the worst case.
    const srv = await server({ requestTimeoutMs: 600_000 });
    const partial = 'POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty';
    // Half send nothing, half the start of a request's header.
    const held = await idle(srv.url, IDLE, (i) => (i % 2 === 0 ? '' : partial));
    await waitFor(async () => (await metric(srv, 'drover_http_connections')) === IDLE, 30_000, `${IDLE} connections accepted`);

    const c = api(srv);
    const t0 = performance.now();
    const { jobs } = await c.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop', params: { echo: 1 } });
    const enqueued = performance.now();
    const [leased] = (await c.post<{ jobs: LeasedJob[] }>('/api/v1/lease', leaseBody('w', 0))).jobs;
    expect(leased?.id).toBe(jobs[0]!.id);
    const { answers } = await c.post<{ answers: Array<{ state: string }> }>('/api/v1/complete', { items: [{ id: leased!.id, token: leased!.lease.token, outcome: 'succeeded', result: { echo: 1 } }] });
    const reported = performance.now();
    expect(answers[0]!.state).toBe('succeeded');
    expect((await c.get<{ job: Job }>(`/api/v1/jobs/${leased!.id}`)).job.state).toBe('succeeded');
    console.log(`many-clients: with ${IDLE} idle connections held: enqueue ${(enqueued - t0).toFixed(1)} ms, lease and report ${(reported - enqueued).toFixed(1)} ms`);
    // Still held: the coordinator served the others beside them, it did not shed them.
    expect(held.filter((h) => h.isClosed)).toEqual([]);
  });

  it('closes connections above server.max_connections at once, counts and logs them, and serves again once some close', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void warnings.push((JSON.parse(l) as { msg: string }).msg) });
    const srv = await server({ maxConnections: 50, requestTimeoutMs: 600_000, logger });
    const held = await idle(srv.url, 50);
    await waitFor(async () => (await metric(srv, 'drover_http_connections')) === 50, 10_000, '50 connections accepted');

    // The 51st and 52nd: closed before a byte of the request is read; one warning for both.
    const [over, again] = await idle(srv.url, 2, () => 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await over!.closed;
    await again!.closed;
    expect([over!.got, again!.got]).toEqual(['', '']);
    expect(await metric(srv, 'drover_http_connections_refused_total')).toBe(2);
    expect(warnings.filter((w) => w.includes('server.max_connections'))).toEqual(['50 connections open (server.max_connections): new ones are closed at once']);
    expect(held.filter((h) => h.isClosed)).toEqual([]);

    for (const h of held) h.socket.destroy();
    await waitFor(async () => (await metric(srv, 'drover_http_connections')) === 0, 10_000, 'the idle connections closed');
    const { jobs } = await api(srv).post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });
    expect(jobs).toHaveLength(1);
    expect(await metric(srv, 'drover_http_connections_refused_total')).toBe(2);
  });

  it('closes a connection that sends nothing, or half a header, at the request timeout', async () => {
    const srv = await server({ requestTimeoutMs: 300 });
    const [silent, partial] = await idle(srv.url, 2, (i) => (i === 0 ? '' : 'GET /healthz HTTP/1.1\r\nHost: 127.'));
    await silent!.closed;
    await partial!.closed;
    expect([silent!.got, partial!.got].map((g) => g.split('\r\n')[0])).toEqual(['HTTP/1.1 408 Request Timeout', 'HTTP/1.1 408 Request Timeout']);
    await waitFor(async () => (await metric(srv, 'drover_http_connections')) === 0, 10_000, 'no connection left open');
  });

  it('closes at once while clients hold connections that sent nothing or half a header', async () => {
    // A closed listener checks no request timeout: such connections would hold its close for ever.
    const srv = await server({ requestTimeoutMs: 600_000 });
    const held = await idle(srv.url, 20, (i) => (i % 2 === 0 ? '' : 'GET /healthz HTTP/1.1\r\nHo'));
    await waitFor(async () => (await metric(srv, 'drover_http_connections')) === 20, 10_000, '20 connections accepted');
    await srv.close();
    await Promise.all(held.map((h) => h.closed));
  });

  it('refuses a worker its long polls over server.max_long_polls_per_worker, and every client over server.max_long_polls, with 429', async () => {
    const srv = await server({ maxLongPollsPerWorker: 2, maxLongPolls: 3 });
    const { jobs } = await api(srv).post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop', runAt: Date.now() + 3_600_000 });
    const first = request(srv, '/api/v1/lease', { method: 'POST', body: leaseBody('w', 30_000) });
    const second = request(srv, '/api/v1/workers/w/stops?wait=30000');
    await waitFor(() => srv.coordinator.longPolls('w') === 2, 10_000, "w's two long polls waiting");

    // A third of w's, lease or stops: 429 with the error shape and Retry-After.
    for (const r of [request(srv, '/api/v1/lease', { method: 'POST', body: leaseBody('w', 30_000) }), request(srv, '/api/v1/workers/w/stops?wait=30000')]) {
      const a = await r.done;
      expect(a.status).toBe(429);
      expect(a.body.error?.code).toBe('too_many_polls');
      expect(a.body.error?.message).toMatch(/^worker w holds 2 long polls already, as many as one worker may \(server\.max_long_polls_per_worker\); try again in 5 s$/);
      expect(a.retryAfter).toBe('5');
    }
    // A lease that does not wait is no long poll: answered.
    expect((await request(srv, '/api/v1/lease', { method: 'POST', body: leaseBody('w', 0) }).done).status).toBe(200);

    // Another worker still gets its place; then the coordinator's three are taken, and a client's log poll is refused.
    const other = request(srv, '/api/v1/lease', { method: 'POST', body: leaseBody('v', 30_000) });
    await waitFor(() => srv.coordinator.longPolls() === 3, 10_000, 'three long polls waiting');
    const logs = await request(srv, `/api/v1/jobs/${jobs[0]!.id}/logs?wait=30000`).done;
    expect([logs.status, logs.body.error?.code]).toEqual([429, 'too_many_polls']);
    expect(logs.body.error?.message).toMatch(/server\.max_long_polls\)/);
    expect(await metric(srv, 'drover_long_polls')).toBe(3);
    expect(await metric(srv, 'drover_long_polls_refused_total{cap="worker"}')).toBe(2);
    expect(await metric(srv, 'drover_long_polls_refused_total{cap="total"}')).toBe(1);

    // A poll that ends gives its place back.
    first.abort();
    await waitFor(() => srv.coordinator.longPolls('w') === 1, 10_000, "w's lease poll gone");
    request(srv, '/api/v1/lease', { method: 'POST', body: leaseBody('w', 30_000) });
    await waitFor(() => srv.coordinator.longPolls('w') === 2, 10_000, "w's new lease poll waiting");
    second.abort();
    other.abort();
    await waitFor(() => srv.coordinator.longPolls() === 1, 10_000, 'the aborted polls gone');
  });
});
