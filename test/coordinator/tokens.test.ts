import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { ApiClient, ApiError } from '../../src/client/api-client.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { hashAccessToken } from '../../src/coordinator/access-tokens.js';
import type { TokenInfo } from '../../src/core/access-token.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import type { CreatedTokenAnswer } from '../../src/protocol/token-messages.js';
import { NoopRunner } from '../../src/runners/noop/noop-runner.js';
import { freshDatabase } from '../support/pg.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ADMIN = 'admin-file-token-0123456789';
const WORKER = 'worker-file-token-0123456789';
const DAY = 86_400_000;

async function server(clock: ManualClock | undefined, o: Partial<Parameters<typeof startServer>[0]> = {}): Promise<RunningServer> {
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: ADMIN, worker: WORKER }, templates: [], logger: silentLogger(), tickMs: 3_600_000, ...(clock ? { clock } : {}), ...o });
  cleanups.push(() => srv.close());
  return srv;
}

function as(srv: RunningServer, token?: string): ApiClient {
  const c = new ApiClient({ servers: srv.url, ...(token ? { token } : {}) });
  cleanups.push(() => c.close());
  return c;
}

async function refused(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected HTTP ${status}`).toBeInstanceOf(ApiError);
  expect((err as ApiError).status).toBe(status);
  expect((err as ApiError).message).toMatch(message);
}

const lease = (api: ApiClient, name: string, queues: string[] = [], limit = 10) => api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker: { name, kinds: ['noop'] }, queues, limit, wait: 0 });
const heartbeat = (api: ApiClient, name: string, jobs: Array<{ id: string; token: string }>) => api.post<{ answers: Array<{ id: string; status: string }> }>('/api/v1/heartbeat', { worker: { name, running: jobs.length }, jobs });
const tokenOf = (j: LeasedJob) => j.lease?.token as string;

async function makeToken(admin: ApiClient, body: Record<string, unknown>): Promise<CreatedTokenAnswer> {
  return admin.post<CreatedTokenAnswer>('/api/v1/tokens', body);
}

describe('access tokens over HTTP (SQLite)', () => {
  it('makes, lists and revokes tokens through the admin API: the token shown once, stored hashed, never listed', async () => {
    const clock = new ManualClock();
    const dataDir = path.join(tempDir(), 'data');
    const srv = await server(clock, { dataDir });
    const admin = as(srv, ADMIN);
    const made = await makeToken(admin, { name: 'nvr-berlin', role: 'worker', queues: ['berlin'], expires: '90d' });
    expect(made.secret).toMatch(/^drv_[A-Za-z0-9_-]{43}$/);
    expect(made.token).toEqual({ name: 'nvr-berlin', role: 'worker', id: made.secret.slice(0, 14), queues: ['berlin'], createdAt: clock.now(), expiresAt: clock.now() + 90 * DAY, lastUsedAt: null });
    await makeToken(admin, { name: 'grafana', role: 'read' });

    const listed = JSON.stringify(await admin.get('/api/v1/tokens'));
    expect(listed).not.toContain(made.secret);
    expect(listed).not.toContain(hashAccessToken(made.secret));
    expect(listed).not.toContain('hash');

    // Used: its last use is recorded on the coordinator's clock.
    clock.advance(5_000);
    await lease(as(srv, made.secret), 'nvr-berlin');
    const { tokens } = await admin.get<{ tokens: TokenInfo[] }>('/api/v1/tokens');
    expect(tokens.map((t) => [t.name, t.role, t.queues, t.expiresAt, t.lastUsedAt])).toEqual([
      ['grafana', 'read', [], null, null],
      ['nvr-berlin', 'worker', ['berlin'], made.token.createdAt + 90 * DAY, clock.now()],
    ]);

    // The store holds its hash, never the token.
    await srv.close();
    for (const f of fs.readdirSync(dataDir)) {
      const bytes = fs.readFileSync(path.join(dataDir, f));
      expect(bytes.includes(made.secret), f).toBe(false);
    }
  });

  it('refuses bad token requests, a second token of one name, and token routes to anyone but an admin', async () => {
    const clock = new ManualClock();
    const srv = await server(clock);
    const admin = as(srv, ADMIN);
    await refused(makeToken(admin, { name: 'x', role: 'root' }), 400, /^role: one of admin, worker, read/);
    await refused(makeToken(admin, { name: 'a b', role: 'worker' }), 400, /^name: letters, digits/);
    await refused(makeToken(admin, { name: 'ops', role: 'admin', queues: ['q'] }), 400, /^queues: only a worker token/);
    await refused(makeToken(admin, { name: 'w', role: 'worker', expires: 'soon' }), 400, /^expires: "soon" is not a duration/);
    await refused(makeToken(admin, { name: 'w', role: 'worker', expires: 0 }), 400, /^expires: must be more than 0/);
    const w = await makeToken(admin, { name: 'w', role: 'worker' });
    await refused(makeToken(admin, { name: 'w', role: 'read' }), 409, /a token named w exists already/);
    const r = await makeToken(admin, { name: 'dash', role: 'read' });
    for (const t of [WORKER, w.secret, r.secret]) {
      await refused(as(srv, t).get('/api/v1/tokens'), 401, /needs (the|an) admin token|read-only/);
      await refused(as(srv, t).post('/api/v1/tokens', { name: 'mine', role: 'admin' }), 401, /needs (the|an) admin token|read-only/);
      await refused(as(srv, t).delete('/api/v1/tokens/w'), 401, /needs (the|an) admin token|read-only/);
    }
    await refused(admin.delete('/api/v1/tokens/nobody'), 404, /no token nobody/);
    // An admin token from the store may do all an admin does, tokens included.
    const ops = await makeToken(admin, { name: 'ops', role: 'admin' });
    await makeToken(as(srv, ops.secret), { name: 'more', role: 'read' });
    expect((await as(srv, ops.secret).get<{ tokens: TokenInfo[] }>('/api/v1/tokens')).tokens.map((t) => t.name)).toEqual(['dash', 'more', 'ops', 'w']);
  });

  it('a worker token leases only as its own worker and from its own queues, and reports only on jobs it holds', async () => {
    const clock = new ManualClock();
    const srv = await server(clock);
    const admin = as(srv, ADMIN);
    const berlin = as(srv, (await makeToken(admin, { name: 'nvr-berlin', role: 'worker', queues: ['berlin'] })).secret);
    const paris = as(srv, (await makeToken(admin, { name: 'nvr-paris', role: 'worker' })).secret);
    const { jobs } = await admin.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', queue: 'berlin' }, { kind: 'noop', queue: 'paris' }] });
    const [inBerlin, inParis] = jobs as [Job, Job];

    // Not as another worker: lease, heartbeat, stop poll.
    await refused(lease(berlin, 'nvr-paris'), 403, /this token is worker nvr-berlin's: it cannot act as worker nvr-paris \(run the worker with --name nvr-berlin/);
    await refused(heartbeat(berlin, 'nvr-paris', []), 403, /cannot act as worker nvr-paris/);
    await refused(berlin.get('/api/v1/workers/nvr-paris/stops?wait=0'), 403, /cannot act as worker nvr-paris/);
    // Not from another queue: the 403 names those it may.
    await refused(lease(berlin, 'nvr-berlin', ['paris']), 403, /token nvr-berlin may lease from queues berlin only, not paris/);
    await refused(lease(berlin, 'nvr-berlin', ['berlin', 'paris']), 403, /not paris/);
    // Asking for every queue, it gets its own only.
    const mine = (await lease(berlin, 'nvr-berlin')).jobs;
    expect(mine.map((j) => j.id)).toEqual([inBerlin.id]);
    const theirs = (await lease(paris, 'nvr-paris')).jobs;
    expect(theirs.map((j) => j.id)).toEqual([inParis.id]);
    const [a, b] = [mine[0]!, theirs[0]!];

    // Reports on the other's job are refused: they need its lease token, which only its holder has.
    expect((await berlin.post<{ answers: unknown[] }>('/api/v1/complete', { items: [{ id: b.id, token: tokenOf(a), outcome: 'succeeded' }] })).answers).toEqual([{ id: b.id, status: 'stale' }]);
    await refused(berlin.post(`/api/v1/jobs/${b.id}/complete`, { token: tokenOf(a) }), 409, /stale/);
    await refused(berlin.post(`/api/v1/jobs/${b.id}/fail`, { token: tokenOf(a), outcome: 'failed', error: 'x' }), 409, /stale/);
    await refused(berlin.post(`/api/v1/jobs/${b.id}/logs`, { token: tokenOf(a), chunks: [{ stream: 'stdout', text: 'not mine' }] }), 409, /stale lease token/);
    expect((await heartbeat(berlin, 'nvr-berlin', [{ id: b.id, token: tokenOf(a) }])).answers).toEqual([{ id: b.id, status: 'lost' }]);
    expect((await admin.get<{ job: Job }>(`/api/v1/jobs/${b.id}`)).job).toMatchObject({ state: 'running', lease: { worker: 'nvr-paris' } });
    // Its own are fine.
    expect((await heartbeat(berlin, 'nvr-berlin', [{ id: a.id, token: tokenOf(a) }])).answers).toMatchObject([{ id: a.id, status: 'ok' }]);
    expect((await paris.post<{ state: string }>(`/api/v1/jobs/${b.id}/complete`, { token: tokenOf(b) })).state).toBe('succeeded');

    // The token file's worker token works as before: any name, any queue.
    await admin.post('/api/v1/jobs', { kind: 'noop', queue: 'paris' });
    expect((await lease(as(srv, WORKER), 'anyone', ['paris'])).jobs).toHaveLength(1);
  });

  it("revoking a worker token refuses it at the next request and gives its worker's running jobs back", async () => {
    const clock = new ManualClock();
    const srv = await server(clock);
    const admin = as(srv, ADMIN);
    const made = await makeToken(admin, { name: 'nvr-berlin', role: 'worker' });
    const berlin = as(srv, made.secret);
    await admin.post('/api/v1/jobs', { jobs: [{ kind: 'noop' }, { kind: 'noop' }] });
    const held = (await lease(berlin, 'nvr-berlin')).jobs;
    expect(held).toHaveLength(2);

    const revoked = await admin.delete<{ token: TokenInfo; released: number }>('/api/v1/tokens/nvr-berlin');
    expect(revoked).toEqual({ token: { ...made.token, lastUsedAt: clock.now() }, released: 2 });
    await refused(heartbeat(berlin, 'nvr-berlin', held.map((j) => ({ id: j.id, token: tokenOf(j) }))), 401, /the token is not valid/);
    await refused(lease(berlin, 'nvr-berlin'), 401, /the token is not valid/);
    for (const j of held) {
      const { job, attempts } = await admin.get<{ job: Job; attempts: Array<{ outcome: string; worker: string }> }>(`/api/v1/jobs/${j.id}`);
      expect(job).toMatchObject({ state: 'queued', lease: null, error: 'lease revoked: the token of worker nvr-berlin was revoked' });
      expect(attempts[0]).toMatchObject({ worker: 'nvr-berlin', outcome: 'lost' });
    }
    // Back in the queue at once, for the next worker.
    expect((await lease(as(srv, WORKER), 'nvr-paris')).jobs).toHaveLength(2);
    expect((await admin.get<{ tokens: TokenInfo[] }>('/api/v1/tokens')).tokens).toEqual([]);
  });

  it('a worker agent runs with its own token: the jobs of its queues, heartbeats and stop polls as itself', async () => {
    const srv = await server(undefined);
    const admin = as(srv, ADMIN);
    const { secret } = await makeToken(admin, { name: 'nvr-berlin', role: 'worker', queues: ['berlin'] });
    const agent = new Agent({ name: 'nvr-berlin', token: secret, servers: [srv.url], concurrency: 2, queues: [], runners: [new NoopRunner()], templates: new Map(), outputRoot: tempDir(), logDir: tempDir(), shutdownGraceMs: 1000, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    const { jobs } = await admin.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop', queue: 'berlin' }, { kind: 'noop', queue: 'berlin' }, { kind: 'noop', queue: 'paris' }] });
    await waitFor(async () => (await admin.get<{ counts: Record<string, number> }>('/api/v1/jobs/counts?queue=berlin')).counts.succeeded === 2, 10_000, 'berlin done');
    await waitFor(() => srv.coordinator.stopPolls('nvr-berlin') > 0, 10_000, 'its stop poll');
    expect((await admin.get<{ job: Job }>(`/api/v1/jobs/${jobs[2]!.id}`)).job.state).toBe('queued');
  });

  it('a lease long poll that began before the revocation hands out nothing after it', async () => {
    const clock = new ManualClock();
    const srv = await server(clock);
    const admin = as(srv, ADMIN);
    const berlin = as(srv, (await makeToken(admin, { name: 'nvr-berlin', role: 'worker' })).secret);
    const polling = berlin.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker: { name: 'nvr-berlin', kinds: ['noop'] }, limit: 1, wait: 20_000 });
    await waitFor(() => srv.coordinator.workAvailable.waiting > 0, 10_000, 'the long poll');
    await admin.delete('/api/v1/tokens/nvr-berlin');
    const { jobs } = await admin.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });
    expect((await polling).jobs).toEqual([]);
    expect((await admin.get<{ job: Job }>(`/api/v1/jobs/${jobs[0]!.id}`)).job).toMatchObject({ state: 'queued', lease: null });
  });

  it('refuses an expired token, and lists it as expired', async () => {
    const clock = new ManualClock();
    const srv = await server(clock);
    const admin = as(srv, ADMIN);
    const made = await makeToken(admin, { name: 'temp', role: 'read', expires: '1h' });
    const temp = as(srv, made.secret);
    clock.advance(3_600_000 - 1);
    expect((await temp.get<{ jobs: Job[] }>('/api/v1/jobs')).jobs).toEqual([]);
    clock.advance(1);
    await refused(temp.get('/api/v1/jobs'), 401, /^token temp expired at 2026-01-01T01:00:00\.000Z; make a new one/);
    const [t] = (await admin.get<{ tokens: TokenInfo[] }>('/api/v1/tokens')).tokens;
    expect(t?.expiresAt).toBe(clock.now());
  });

  it('a read token GETs jobs, one job (redacted), stats and /metrics, but POSTs nothing and never leases', async () => {
    const clock = new ManualClock();
    const srv = await server(clock);
    const admin = as(srv, ADMIN);
    const read = as(srv, (await makeToken(admin, { name: 'grafana', role: 'read' })).secret);
    const { jobs } = await admin.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'download', params: { url: 'https://u:hunter2@cdn.example.com/a.mp4', dest: 'archive' } });
    const id = jobs[0]!.id;

    expect((await read.get<{ jobs: Job[] }>('/api/v1/jobs')).jobs.map((j) => j.id)).toEqual([id]);
    const detail = await read.get<{ job: Job }>(`/api/v1/jobs/${id}`);
    expect(JSON.stringify(detail)).not.toContain('hunter2');
    expect((await read.get<{ counts: Record<string, number> }>('/api/v1/jobs/counts')).counts.queued).toBe(1);
    await read.get('/api/v1/stats');
    await read.get('/api/v1/workers');
    const metrics = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${(await makeToken(admin, { name: 'prometheus', role: 'read' })).secret}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^drover_jobs_enqueued_total 1$/m);

    await refused(read.post('/api/v1/jobs', { kind: 'noop' }), 401, /token grafana is read-only: GET routes and \/metrics only/);
    await refused(read.post(`/api/v1/jobs/${id}/cancel`, {}), 401, /read-only/);
    await refused(read.post('/api/v1/jobs/purge', { before: clock.now() }), 401, /read-only/);
    await refused(read.delete('/api/v1/schedules/x'), 401, /read-only/);
    await refused(lease(read, 'grafana'), 401, /token grafana is read-only: the worker routes need a worker token/);
    await refused(heartbeat(read, 'grafana', []), 401, /read-only/);
    await refused(read.get('/api/v1/workers/grafana/stops?wait=0'), 401, /read-only/);
    await refused(read.get('/api/v1/segment-nodes'), 401, /read-only/);
    expect((await admin.get<{ job: Job }>(`/api/v1/jobs/${id}`)).job.state).toBe('queued');
  });
});

describe('access tokens on PostgreSQL: every coordinator of the database shares them', () => {
  it('a token made on one coordinator works on another; revoked on one, the other refuses it at its next request', async () => {
    const db = await freshDatabase('drover_tokens');
    cleanups.push(() => db.drop());
    const clock = new ManualClock();
    const keyFile = path.join(tempDir(), 'secret.key');
    const a = await server(clock, { db: db.url, secretKeyFile: keyFile });
    const b = await server(clock, { db: db.url, secretKeyFile: keyFile });
    const made = await makeToken(as(a, ADMIN), { name: 'nvr-berlin', role: 'worker', queues: ['berlin'] });
    const onB = as(b, made.secret);
    await as(b, ADMIN).post('/api/v1/jobs', { kind: 'noop', queue: 'berlin' });
    const held = (await lease(onB, 'nvr-berlin')).jobs;
    expect(held).toHaveLength(1);
    await refused(lease(onB, 'nvr-berlin', ['paris']), 403, /berlin only/);
    expect((await as(b, ADMIN).get<{ tokens: TokenInfo[] }>('/api/v1/tokens')).tokens.map((t) => [t.name, t.lastUsedAt])).toEqual([['nvr-berlin', clock.now()]]);

    expect((await as(a, ADMIN).delete<{ released: number }>('/api/v1/tokens/nvr-berlin')).released).toBe(1);
    await refused(heartbeat(onB, 'nvr-berlin', [{ id: held[0]!.id, token: tokenOf(held[0]!) }]), 401, /not valid/);
    expect((await as(b, ADMIN).get<{ job: Job }>(`/api/v1/jobs/${held[0]!.id}`)).job).toMatchObject({ state: 'queued', lease: null });
  });
});
