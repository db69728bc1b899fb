import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { ApiClient, ApiError } from '../../src/client/api-client.js';
import { parseConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { NoopRunner } from '../../src/runners/noop/noop-runner.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const { templates } = parseConfig(`
templates:
  hikload:
    argv: [hikload, "--server={server}", "--password={password}", "--cameras={cameras}"]
    secrets: [password]
    concurrency: { key: "{server}", limit: 2 }
    time_limit: 2h
    params:
      cameras: { pattern: "^[0-9,]+$" }
`);

async function server(opts: Partial<Parameters<typeof startServer>[0]> = {}): Promise<RunningServer> {
  const dir = tempDir();
  const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: templates.values(), logger: silentLogger(), ...opts });
  cleanups.push(() => srv.close());
  return srv;
}

function client(srv: RunningServer, token?: string): ApiClient {
  const c = new ApiClient({ servers: srv.url, ...(token ? { token } : {}) });
  cleanups.push(() => c.close());
  return c;
}

async function expectApiError(p: Promise<unknown>, status: number, message: RegExp): Promise<ApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).status).toBe(status);
  expect((err as ApiError).message).toMatch(message);
  return err as ApiError;
}

describe('coordinator HTTP API', () => {
  it('runs no-op jobs through a worker agent end to end', async () => {
    const srv = await server();
    const api = client(srv);
    const agent = new Agent({ name: 'w1', servers: [srv.url], concurrency: 4, queues: [], runners: [new NoopRunner()], templates: new Map(), outputRoot: tempDir(), logDir: tempDir(), shutdownGraceMs: 1000, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: Array.from({ length: 50 }, (_, i) => ({ kind: 'noop', params: { echo: i } })) });
    expect(jobs).toHaveLength(50);
    await waitFor(async () => (await api.get<{ counts: Record<string, number> }>('/api/v1/jobs/counts')).counts.succeeded === 50, 10_000, '50 succeeded');
    const one = await api.get<{ job: Job }>(`/api/v1/jobs/${jobs[7]!.id}`);
    expect(one.job.result).toEqual({ echo: 7 });
    const workers = await api.get<{ workers: Array<{ name: string; kinds: string[] }> }>('/api/v1/workers');
    expect(workers.workers.map((w) => w.name)).toEqual(['w1']);
  });

  it('rejects bad jobs with 400 naming the field, and creates none of a bad batch', async () => {
    const srv = await server();
    const api = client(srv);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'nope' }), 400, /^kind: unknown kind "nope"/);
    await expectApiError(api.post('/api/v1/jobs', { template: 'nope' }), 400, /^template: unknown template "nope" \(known: hikload\)/);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'exec' }), 400, /^template: jobs of kind exec need a template/);
    await expectApiError(api.post('/api/v1/jobs', { template: 'hikload', params: { server: 'a', cameras: '1' } }), 400, /^params\.password: required by template hikload/);
    await expectApiError(api.post('/api/v1/jobs', { template: 'hikload', params: { server: 'a', password: 'x', cameras: 'one' } }), 400, /^params\.cameras: does not match/);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'noop', params: { a: { b: 1 } } }), 400, /^params\.a: must be a string, number or boolean/);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'noop', priority: 'high' }), 400, /^priority: must be an integer/);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'noop', timeLimit: 'soon' }), 400, /^timeLimit: "soon" is not a duration/);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'noop', colour: 'red' }), 400, /^colour: unknown field/);
    const e = await expectApiError(
      api.post('/api/v1/jobs', { jobs: [{ kind: 'noop' }, { template: 'hikload', params: { server: 'a', password: 'p' } }] }),
      400,
      /^jobs\[1\]\.params\.cameras: required/,
    );
    expect(e.field).toBe('jobs[1].params.cameras');
    const { counts } = await api.get<{ counts: Record<string, number> }>('/api/v1/jobs/counts');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('refuses a param nobody takes, naming it and the one meant', async () => {
    const api = client(await server());
    await expectApiError(
      api.post('/api/v1/jobs', { kind: 'ffmpeg', params: { input: 'rtsp://cam/1', output: 'a.mkv', duraton: 5 } }),
      400,
      /^params\.duraton: unknown param — did you mean "duration"\? \(kind ffmpeg takes input, output, dest, duration, /,
    );
    await expectApiError(api.post('/api/v1/jobs', { template: 'hikload', params: { server: 'a', pasword: 'p', cameras: '1' } }), 400, /^params\.password: required by template hikload \(the job gives "pasword": a typo of "password"\?\)$/);
    await expectApiError(api.post('/api/v1/jobs', { template: 'hikload', params: { server: 'a', password: 'p', cameras: '1', camera: '5' } }), 400, /^params\.camera: unknown param — did you mean "cameras"\? \(template hikload takes server, password, cameras\)/);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'download', params: { url: 'https://h/a', dest: 'archive', sha265: '0' } }), 400, /^params\.sha265: unknown param — did you mean "sha256"\?/);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'noop', params: { colour: 'red' } }), 400, /^params\.colour: unknown param \(kind noop takes echo\)$/);
    // What each takes: the kind's own params, a template's placeholders and declared params.
    expect((await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hikload', params: { server: 'a', password: 'p', cameras: '1' } })).jobs).toHaveLength(1);
    const { params } = await api.get<{ params: Record<string, string[]> }>('/api/v1/kinds');
    expect(params.noop).toEqual(['echo']);
    expect(params.download).toContain('sha256');
  });

  it('lists workers online or offline by their last word, running by their leases; hides the long gone; warns of work no online worker can do', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const srv = await server({ clock });
    const api = client(srv);
    const worker = (name: string, running = 0) => ({ name, kinds: ['noop', 'download'], templates: [], slots: 4, running, destinations: ['archive'] });
    await api.post('/api/v1/jobs', { jobs: [{ kind: 'noop' }, { kind: 'noop' }] });
    // It says 0 running, and holds two leases.
    await api.post('/api/v1/lease', { worker: worker('busy', 0), limit: 2 });
    await api.post('/api/v1/lease', { worker: worker('idle'), limit: 0 });
    clock.advance(20_000);
    await api.post('/api/v1/heartbeat', { worker: { name: 'busy', running: 0 }, jobs: [] });
    clock.advance(15_000);
    type W = { name: string; online: boolean; running: number };
    const listed = (await api.get<{ workers: W[] }>('/api/v1/workers')).workers.map((w) => [w.name, w.online, w.running]);
    expect(listed).toEqual([['busy', true, 2], ['idle', false, 0]]);
    // Gone for over an hour: left out unless asked for, then forgotten.
    clock.advance(3_600_000);
    await api.post('/api/v1/heartbeat', { worker: { name: 'busy', running: 2 }, jobs: [] });
    expect((await api.get<{ workers: W[] }>('/api/v1/workers')).workers.map((w) => w.name)).toEqual(['busy']);
    expect((await api.get<{ workers: W[] }>('/api/v1/workers?all=true')).workers.map((w) => w.name)).toEqual(['busy', 'idle']);
    expect(await api.post<{ deleted: number }>('/api/v1/workers/prune', {})).toEqual({ deleted: 1 });
    expect((await api.get<{ workers: W[] }>('/api/v1/workers?all=true')).workers.map((w) => w.name)).toEqual(['busy']);

    // Accepted, with the reason no online worker can run it; the job says so while it waits.
    clock.advance(2_000);
    const ghost = await api.post<{ jobs: Job[]; warnings: string[] }>('/api/v1/jobs', { template: 'hikload', params: { server: 's', password: 'p', cameras: '1' } });
    expect(ghost.warnings).toEqual(['no online worker offers template "hikload"']);
    expect((await api.get<{ waiting: string }>(`/api/v1/jobs/${ghost.jobs[0]!.id}`)).waiting).toBe('no online worker offers template "hikload"');
    expect((await api.get<{ waiting: Record<string, string> }>('/api/v1/jobs?state=queued')).waiting).toEqual({ [ghost.jobs[0]!.id]: 'no online worker offers template "hikload"' });
    const nowhere = await api.post<{ warnings: string[] }>('/api/v1/jobs', { kind: 'download', params: { url: 'https://h/a.mp4', dest: 'vault:x' } });
    expect(nowhere.warnings).toEqual(['no online worker has destination "vault" (they have: archive)']);
    const fine = await api.post<{ warnings?: string[] }>('/api/v1/jobs', { kind: 'download', params: { url: 'https://h/a.mp4', dest: 'archive:x' } });
    expect(fine.warnings).toBeUndefined();
  });

  it('answers 413 to an oversized body and 409 to a stale lease token', async () => {
    const srv = await server({ maxBodyBytes: 10_000 });
    const api = client(srv);
    await expectApiError(api.post('/api/v1/jobs', { kind: 'noop', params: { big: 'x'.repeat(20_000) } }), 413, /larger than 10000 bytes/);
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });
    const worker = { name: 'w1', kinds: ['noop'], templates: [] };
    const leased = await api.post<{ jobs: Job[] }>('/api/v1/lease', { worker, limit: 1 });
    expect(leased.jobs[0]?.id).toBe(jobs[0]!.id);
    await expectApiError(api.post(`/api/v1/jobs/${jobs[0]!.id}/complete`, { token: 'not-the-token' }), 409, /stale/);
    const ok = await api.post<{ state: string }>(`/api/v1/jobs/${jobs[0]!.id}/complete`, { token: leased.jobs[0]!.lease!.token });
    expect(ok.state).toBe('succeeded');
    await expectApiError(api.post(`/api/v1/jobs/${jobs[0]!.id}/complete`, { token: leased.jobs[0]!.lease!.token }), 409, /stale/);
  });

  it('keys hikvision jobs by their NVR however its server is written, one at a time; a job may name its own key or none', async () => {
    const srv = await server();
    const api = client(srv);
    const base = { user: 'admin', password: 'pw', cameras: '101' };
    const spellings = ['10.0.0.5', '10.0.0.5:80', 'http://10.0.0.5', 'HTTP://10.0.0.5/', ' 10.0.0.5'];
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: spellings.map((server) => ({ kind: 'hikvision', params: { ...base, server } })) });
    expect(jobs.map((j) => [j.concurrencyKey, j.concurrencyLimit])).toEqual(spellings.map(() => ['10.0.0.5', 1]));
    expect((await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'hikvision', params: { ...base, server: '10.0.0.5:8000' } })).jobs[0]!.concurrencyKey).toBe('10.0.0.5:8000');
    expect((await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'hikvision', params: { ...base, server: '10.0.0.5' }, concurrencyKey: 'site-a', concurrencyLimit: 3 })).jobs[0]).toMatchObject({ concurrencyKey: 'site-a', concurrencyLimit: 3 });
    expect((await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'hikvision', params: { ...base, server: '10.0.0.5' }, concurrencyKey: null })).jobs[0]).toMatchObject({ concurrencyKey: null, concurrencyLimit: null });
    await expectApiError(api.post('/api/v1/jobs', { kind: 'hikvision', params: { ...base, server: 'ftp://x' } }), 400, /params\.server: "ftp:\/\/x" is not http or https/);
  });

  it('redacts secrets in every read endpoint but hands them to the leasing worker', async () => {
    const srv = await server();
    const api = client(srv);
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hikload', params: { server: 'nvr', password: 'hunter2', cameras: '101' } });
    expect(jobs[0]!.params.password).toBe('***');
    expect(jobs[0]!.concurrencyKey).toBe('nvr');
    expect(jobs[0]!.timeLimitMs).toBe(7_200_000);
    const list = await api.get<{ jobs: Job[] }>('/api/v1/jobs');
    expect(JSON.stringify(list)).not.toContain('hunter2');
    const leased = await api.post<{ jobs: Job[] }>('/api/v1/lease', { worker: { name: 'w', kinds: ['exec'], templates: [{ name: 'hikload', kind: 'exec', required: [], secrets: [] }] }, limit: 5 });
    expect(leased.jobs[0]!.params.password).toBe('hunter2');
    // Only the lease holder adds to a job's log; another token is refused, naming why.
    await expectApiError(api.post(`/api/v1/jobs/${jobs[0]!.id}/logs`, { token: 'not-the-lease', chunks: [{ stream: 'stdout', text: 'forged\n' }] }), 409, /stale lease token .*only from the worker holding it/);
    await api.post(`/api/v1/jobs/${jobs[0]!.id}/logs`, { token: (leased.jobs[0] as LeasedJob).lease.token, chunks: [{ stream: 'stdout', text: 'login with hunter2 ok\n' }] });
    const logs = await api.get<{ chunks: Array<{ text: string }> }>(`/api/v1/jobs/${jobs[0]!.id}/logs`);
    expect(logs.chunks[0]!.text).toBe('login with *** ok\n');
    const one = await api.get<{ job: Job }>(`/api/v1/jobs/${jobs[0]!.id}`);
    expect(JSON.stringify(one)).not.toContain('hunter2');
  });

  it('wakes a long-polling worker at once when a job is enqueued', async () => {
    const srv = await server();
    const api = client(srv);
    const worker = { name: 'w1', kinds: ['noop'], templates: [] };
    const t0 = Date.now();
    const lease = api.post<{ jobs: Job[] }>('/api/v1/lease', { worker, limit: 1, wait: 10_000 }, { timeoutMs: 20_000 });
    await waitFor(() => srv.coordinator.workAvailable.waiting === 1, 5_000, 'the poll to wait');
    await api.post('/api/v1/jobs', { kind: 'noop' });
    const res = await lease;
    expect(res.jobs).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(5_000);
    // With nothing to do, the long poll answers an explicit empty list when its time is up.
    const empty = await api.post<{ jobs: Job[] }>('/api/v1/lease', { worker, limit: 1, wait: 100 });
    expect(empty.jobs).toEqual([]);
  });

  it('an enqueue wakes as many idle lease polls as it made jobs, and a poll that cannot take it hands it on', async () => {
    const srv = await server();
    const api = client(srv);
    const work = srv.coordinator.workAvailable;
    const poll = (name: string, queues = ['default']) => api.post<{ jobs: Job[] }>('/api/v1/lease', { worker: { name, kinds: ['noop'], templates: [] }, queues, limit: 1, wait: 30_000 }, { timeoutMs: 40_000 });
    const polls = new Map<string, Promise<{ jobs: Job[] }>>();
    for (let i = 0; i < 20; i++) polls.set(`w${i}`, poll(`w${i}`));
    await waitFor(() => work.waiting === 20, 10_000, 'the polls to wait');
    polls.set('other', poll('other', ['other']));
    await waitFor(() => work.waiting === 21, 10_000, 'the last poll to wait');
    const woken = work.woken;
    await api.post('/api/v1/jobs', { kind: 'noop' });
    // The oldest poll takes it; no other was woken to find nothing.
    const first = await polls.get('w0')!;
    expect(first.jobs).toHaveLength(1);
    expect(work.woken - woken).toBe(1);
    expect(work.waiting).toBe(20);
    // A job in a queue only the last poll takes: the oldest (w1) is woken, finds nothing, and
    // hands it on past its own group to that poll.
    await api.post('/api/v1/jobs', { kind: 'noop', queue: 'other' });
    expect((await polls.get('other')!).jobs.map((j) => j.queue)).toEqual(['other']);
    await waitFor(() => work.waiting === 19, 10_000, 'w1 to wait again');
    expect(work.woken - woken).toBe(3);
    await srv.close();
    await Promise.allSettled(polls.values());
  });

  it('reports an outcome and takes the next job in one request (`next`), long-polling for it as a lease does', async () => {
    const srv = await server();
    const api = client(srv);
    const worker = { name: 'w1', kinds: ['noop'], templates: [] };
    await api.post('/api/v1/jobs', { jobs: [{ kind: 'noop' }, { kind: 'noop' }] });
    const [first] = (await api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker, limit: 1 })).jobs;
    const both = await api.post<{ answers: unknown[]; next: { jobs: LeasedJob[]; leaseTtlMs: number } }>('/api/v1/complete', { items: [{ id: first!.id, token: first!.lease.token, outcome: 'succeeded' }], next: { worker, limit: 5 } });
    expect(both.answers).toEqual([{ id: first!.id, status: 'ok', state: 'succeeded' }]);
    expect(both.next.jobs).toHaveLength(1);
    expect(both.next.leaseTtlMs).toBeGreaterThan(0);
    const second = both.next.jobs[0]!;
    // Nothing left: the lease part waits, and an enqueue meanwhile answers it.
    const waiting = api.post<{ next: { jobs: LeasedJob[] } }>('/api/v1/complete', { items: [{ id: second.id, token: second.lease.token, outcome: 'succeeded' }], next: { worker, limit: 1, wait: 20_000 } }, { timeoutMs: 30_000 });
    await waitFor(() => srv.coordinator.workAvailable.waiting === 1, 10_000, 'the lease part to wait');
    expect((await api.get<{ job: Job }>(`/api/v1/jobs/${second.id}`)).job.state).toBe('succeeded');
    const { jobs: [third] } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });
    expect((await waiting).next.jobs.map((j) => j.id)).toEqual([third!.id]);
    // A bad lease part is refused before any outcome counts, naming its field.
    const err = await expectApiError(api.post('/api/v1/complete', { items: [{ id: third!.id, token: 'x', outcome: 'succeeded' }], next: { worker, limit: -1 } }), 400, /next\.limit/);
    expect(err.field).toBe('next.limit');
    expect((await api.get<{ job: Job }>(`/api/v1/jobs/${third!.id}`)).job.state).toBe('running');
  });

  it('wakes waiting workers on a completion only when it frees a slot of a concurrency key', async () => {
    const srv = await server();
    const api = client(srv);
    const key = { kind: 'noop', concurrencyKey: 'nvr-1', concurrencyLimit: 1 };
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ kind: 'noop' }, key, key] });
    const [plainId, keyedId, nextId] = jobs.map((j) => j.id);
    const held = (await api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker: { name: 'w1', kinds: ['noop'] }, limit: 10 })).jobs;
    expect(held.map((j) => j.id).sort()).toEqual([plainId, keyedId].sort());
    const tokenOf = (id: string | undefined) => held.find((j) => j.id === id)!.lease.token;

    const waiting = api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker: { name: 'w2', kinds: ['noop'] }, limit: 1, wait: 10_000 }, { timeoutMs: 20_000 });
    await waitFor(() => srv.coordinator.workAvailable.waiting === 1, 5_000, 'the poll to wait');
    const before = srv.coordinator.workAvailable.generation;
    const plain = await api.post<{ answers: unknown[] }>('/api/v1/complete', { items: [{ id: plainId, token: tokenOf(plainId), outcome: 'succeeded' }] });
    expect(plain.answers).toEqual([{ id: plainId, status: 'ok', state: 'succeeded' }]);
    // Nothing new could be claimed: the idle poll was left asleep.
    expect(srv.coordinator.workAvailable.generation).toBe(before);
    const keyed = await api.post<{ answers: unknown[] }>('/api/v1/complete', { items: [{ id: keyedId, token: tokenOf(keyedId), outcome: 'succeeded' }] });
    expect(keyed.answers).toEqual([{ id: keyedId, status: 'ok', state: 'succeeded' }]);
    expect((await waiting).jobs.map((j) => j.id)).toEqual([nextId]);
  });

  it('takes download jobs before any worker has connected: 30 min default time limit, secret headers, bad URLs refused', async () => {
    const api = client(await server());
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'download', params: { url: 'https://cdn.example.com/a.mp4', dest: 'archive:v', headers: 'Cookie: s=1' } });
    expect(jobs[0]).toMatchObject({ kind: 'download', timeLimitMs: 30 * 60_000, secrets: ['headers'] });
    expect(jobs[0]!.params.headers).toBe('***');
    await expectApiError(api.post('/api/v1/jobs', { kind: 'download', params: { url: 'file:///etc/passwd', dest: 'archive' } }), 400, /params\.url: only http and https/);
    // A password in the URL makes the URL secret.
    const creds = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'download', params: { url: 'https://u:hunter2@cdn.example.com/a.mp4', dest: 'archive' } });
    expect(creds.jobs[0]!.secrets).toEqual(['url']);
    expect(JSON.stringify(await api.get(`/api/v1/jobs/${creds.jobs[0]!.id}`))).not.toContain('hunter2');
    const tuned = client(await server({ kindTimeLimitsMs: { download: 600_000 } }));
    const again = await tuned.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'download', params: { url: 'https://cdn.example.com/a.mp4', dest: 'archive' } });
    expect(again.jobs[0]!.timeLimitMs).toBe(600_000);
  });

  it('needs tokens: refuses to listen beyond loopback without them, 401 without a token, worker token only for worker routes', async () => {
    await expect(server({ host: '0.0.0.0' })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without tokens/);
    const srv = await server({ tokens: { admin: 'admin-tok', worker: 'worker-tok' } });
    await expectApiError(client(srv).get('/api/v1/jobs'), 401, /bearer token is required/);
    await expectApiError(client(srv, 'wrong').get('/api/v1/jobs'), 401, /not valid/);
    await expectApiError(client(srv, 'worker-tok').get('/api/v1/jobs'), 401, /needs the admin token; the worker token only runs workers/);
    const w = await client(srv, 'worker-tok').post<{ jobs: Job[] }>('/api/v1/lease', { worker: { name: 'w', kinds: ['noop'] }, limit: 1 });
    expect(w.jobs).toEqual([]);
    const a = await client(srv, 'admin-tok').get<{ jobs: Job[] }>('/api/v1/jobs');
    expect(a.jobs).toEqual([]);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
  });

  it('says clearly when no coordinator can be reached', async () => {
    const api = new ApiClient({ servers: 'http://127.0.0.1:1,http://127.0.0.1:2' });
    cleanups.push(() => api.close());
    await expect(api.get('/api/v1/jobs')).rejects.toThrow(/cannot reach the coordinator: http:\/\/127\.0\.0\.1:1: connection refused .*http:\/\/127\.0\.0\.1:2: connection refused/);
  });

  it('fails over to the next server URL when one is down', async () => {
    const srv = await server();
    const api = new ApiClient({ servers: `http://127.0.0.1:1,${srv.url}` });
    cleanups.push(() => api.close());
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });
    expect(jobs).toHaveLength(1);
    expect(api.server).toBe(srv.url);
  });

  // The OpenAPI document is tested in openapi.test.ts.
  it('serves Prometheus metrics', async () => {
    const srv = await server();
    const api = client(srv);
    await api.post('/api/v1/jobs', { jobs: [{ kind: 'noop' }, { kind: 'noop' }] });
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    expect(metrics).toMatch(/^drover_jobs_enqueued_total 2$/m);
    expect(metrics).toMatch(/^drover_jobs\{state="queued"\} 2$/m);
  });

  it('never holds more jobs than its slots, with two lease loops on a big worker', async () => {
    const srv = await server();
    const api = client(srv);
    let running = 0;
    let most = 0;
    const slow = {
      kind: 'noop',
      async run() {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return { outcome: 'succeeded' as const };
      },
    };
    const agent = new Agent({ name: 'big', servers: [srv.url], concurrency: 64, queues: [], runners: [slow], templates: new Map(), outputRoot: tempDir(), logDir: tempDir(), shutdownGraceMs: 1000, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    await api.post('/api/v1/jobs', { jobs: Array.from({ length: 1000 }, () => ({ kind: 'noop' })) });
    await waitFor(async () => (await api.get<{ counts: Record<string, number> }>('/api/v1/jobs/counts')).counts.succeeded === 1000, 20_000, '1000 succeeded');
    expect(most).toBeLessThanOrEqual(64);
    expect(most).toBeGreaterThan(32);
  });
});

