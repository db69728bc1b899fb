import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ADMIN = 'admin-token-dashboard-api-0123456789';
const WORKER = 'worker-token-dashboard-api-0123456789';
const { templates } = parseConfig(`
templates:
  clip:
    argv: [/bin/true, "{camera}", "{day}", "{password}"]
    secrets: [password]
    params:
      day: { pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }
`);

async function server(tokens = false): Promise<RunningServer> {
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: tokens ? { admin: ADMIN, worker: WORKER } : { admin: null, worker: null }, templates: templates.values(), logger: silentLogger() });
  cleanups.push(() => srv.close());
  return srv;
}

/** A JSON call: its status and body. */
async function call<T = Record<string, unknown>>(srv: RunningServer, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const r = await fetch(srv.url + p, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : null) as T, headers: r.headers };
}

/** The events of `GET /api/v1/events?query` as they arrive. */
async function listen(srv: RunningServer, query = '', headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await fetch(`${srv.url}/api/v1/events${query}`, { headers, signal: ac.signal });
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  let text = '';
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, i);
        text = text.slice(i + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type && data) events.push({ type, data: JSON.parse(data) as Record<string, unknown> });
      }
    }
  })().catch(() => undefined);
  cleanups.push(async () => {
    ac.abort();
    await reading;
  });
  return { res, events };
}

const worker = (name: string) => ({ name, host: 'h', kinds: ['noop'], templates: [], slots: 4, running: 0, version: 't' });

describe('the dashboard routes', () => {
  it('streams job changes, progress and workers as server-sent events, filtered by type, job and queue', async () => {
    const srv = await server();
    const all = await listen(srv);
    expect(all.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const media = await listen(srv, '?queue=media&types=job,progress');
    await waitFor(() => srv.coordinator.events.listening, 5_000, 'the listeners');
    const { body } = await call<{ jobs: Job[] }>(srv, 'POST', '/api/v1/jobs', { jobs: [{ kind: 'noop', queue: 'media' }, { kind: 'noop' }] });
    const [m, d] = body.jobs as [Job, Job];
    const leased = await call<{ jobs: LeasedJob[] }>(srv, 'POST', '/api/v1/lease', { worker: worker('w1'), limit: 2 });
    expect(leased.body.jobs).toHaveLength(2);
    const token = (id: string) => leased.body.jobs.find((j) => j.id === id)!.lease.token;
    await call(srv, 'POST', '/api/v1/heartbeat', { worker: { name: 'w1', running: 2 }, jobs: [{ id: m.id, token: token(m.id), progress: { bytes: 10, total: 100 } }] });
    await call(srv, 'POST', '/api/v1/complete', { items: [{ id: m.id, token: token(m.id), outcome: 'failed', error: 'HTTP 404', retryable: false }, { id: d.id, token: token(d.id), outcome: 'succeeded' }] });
    await waitFor(() => all.events.some((e) => e.type === 'job' && e.data.id === d.id && e.data.state === 'succeeded'), 10_000, 'the outcome');
    await waitFor(() => all.events.some((e) => e.type === 'worker' && e.data.name === 'w1' && e.data.event === 'joined'), 10_000, 'the worker joining');
    const seq = (evs: typeof all.events, id: string) => evs.filter((e) => e.data.id === id).map((e) => (e.type === 'job' ? e.data.state : `progress ${(e.data.progress as { bytes: number }).bytes}`));
    expect(seq(all.events, m.id)).toEqual(['queued', 'running', 'progress 10', 'failed']);
    expect(seq(all.events, d.id)).toEqual(['queued', 'running', 'succeeded']);
    expect(all.events.find((e) => e.data.id === m.id && e.data.state === 'failed')?.data).toMatchObject({ queue: 'media', kind: 'noop', error: 'HTTP 404' });
    // The media listener saw the media job only, and no worker events.
    await waitFor(() => media.events.some((e) => e.data.state === 'failed'), 10_000, 'the media outcome');
    expect(media.events.every((e) => e.data.id === m.id && e.type !== 'worker')).toBe(true);
    // Job events carry no params.
    expect(all.events.every((e) => !('params' in e.data))).toBe(true);
    const bad = await call(srv, 'GET', '/api/v1/events?types=job,nope');
    expect(bad).toMatchObject({ status: 400, body: { error: { field: 'types', message: 'types: unknown event type "nope" (job, progress, worker)' } } });
  });

  it('counts what finished per minute over the hour, every bucket present', async () => {
    const srv = await server();
    await call(srv, 'POST', '/api/v1/jobs', { jobs: [{ kind: 'noop' }, { kind: 'noop' }] });
    const leased = await call<{ jobs: LeasedJob[] }>(srv, 'POST', '/api/v1/lease', { worker: worker('w1'), limit: 2 });
    await call(srv, 'POST', '/api/v1/complete', { items: leased.body.jobs.map((j, i) => ({ id: j.id, token: j.lease.token, outcome: i === 0 ? 'succeeded' : 'canceled' })) });
    const hour = await call<{ bucketMs: number; since: number; buckets: Array<Record<string, number>> }>(srv, 'GET', '/api/v1/stats/finished?window=hour');
    expect(hour.status).toBe(200);
    expect(hour.body.bucketMs).toBe(60_000);
    expect(hour.body.buckets).toHaveLength(60);
    expect(hour.body.buckets.at(-1)).toMatchObject({ succeeded: 1, canceled: 1, failed: 0, timed_out: 0 });
    expect(hour.body.buckets.slice(0, -1).every((b) => b.succeeded === 0)).toBe(true);
    const day = await call<{ buckets: unknown[]; bucketMs: number }>(srv, 'GET', '/api/v1/stats/finished?window=day');
    expect([day.body.bucketMs, day.body.buckets.length]).toEqual([900_000, 96]);
    expect((await call(srv, 'GET', '/api/v1/stats/finished?window=week')).body).toEqual({ error: { code: 'invalid', message: 'window: expected hour or day, got "week"', field: 'window' } });
    const stats = await call<{ owners: Record<string, unknown> }>(srv, 'GET', '/api/v1/stats');
    expect(Object.keys(stats.body.owners)).toEqual(['']);
  });

  it('cancels or retries chosen jobs, or every job matching a filter, and says which it could not', async () => {
    const srv = await server();
    const { body } = await call<{ jobs: Job[] }>(srv, 'POST', '/api/v1/jobs', { jobs: Array.from({ length: 5 }, (_, i) => ({ kind: 'noop', owner: i < 3 ? 'alice' : 'bob', params: { echo: `cam${i}` } })) });
    const ids = body.jobs.map((j) => j.id);
    const chosen = await call(srv, 'POST', '/api/v1/jobs/bulk', { action: 'cancel', ids: [ids[3], ids[3], 'nosuchjob'] });
    expect(chosen.body).toEqual({ matched: 2, changed: 1, failed: [{ id: 'nosuchjob', error: 'no job nosuchjob' }] });
    const matching = await call(srv, 'POST', '/api/v1/jobs/bulk', { action: 'cancel', filter: { owner: 'alice', q: 'cam' } });
    expect(matching.body).toEqual({ matched: 3, changed: 3, failed: [] });
    const retried = await call<{ matched: number; changed: number; failed: Array<{ id: string }> }>(srv, 'POST', '/api/v1/jobs/bulk', { action: 'retry', filter: { state: ['canceled', 'queued'] } });
    expect([retried.body.matched, retried.body.changed, retried.body.failed.map((f) => f.id)]).toEqual([5, 4, [ids[4]]]);
    expect((await call<{ counts: Record<string, number> }>(srv, 'GET', '/api/v1/jobs/counts')).body.counts.queued).toBe(5);
    const bad = [
      [{ action: 'delete', ids: [ids[0]] }, 'action: expected cancel or retry, got "delete"'],
      [{ action: 'cancel' }, 'body: give either ids (the jobs chosen) or filter (every job matching)'],
      [{ action: 'cancel', filter: { nope: 1 } }, 'filter.nope: unknown filter field (state, queue, owner, tag, template, kind, parent, worker, q, finishedSince, since)'],
      [{ action: 'cancel', filter: { state: ['gone'] } }, expect.stringMatching(/^filter.state: unknown state "gone"/)],
      [{ action: 'cancel', ids: [] }, 'ids: from 1 to 10000 job ids'],
    ] as const;
    for (const [req, message] of bad) expect((await call(srv, 'POST', '/api/v1/jobs/bulk', req)).body).toMatchObject({ error: { code: 'invalid', message } });
  });

  it('searches ids, params and errors with q, never the secret params', async () => {
    const srv = await server();
    await call(srv, 'POST', '/api/v1/jobs', { jobs: [{ template: 'clip', params: { camera: 'lobby', day: '2026-12-01', password: 'lobby-pass-123' } }, { template: 'clip', params: { camera: 'garage', day: '2026-12-01', password: 'x-secret-y' } }] });
    const found = async (q: string) => (await call<{ jobs: Job[] }>(srv, 'GET', `/api/v1/jobs?q=${encodeURIComponent(q)}`)).body.jobs.map((j) => j.params.camera);
    expect(await found('LOBBY')).toEqual(['lobby']);
    expect(await found('secret')).toEqual([]);
    expect(await found('pass-123')).toEqual([]);
    expect(await found('2026-12')).toEqual(['lobby', 'garage']);
    expect((await call(srv, 'GET', `/api/v1/jobs?q=${'x'.repeat(201)}`)).body).toMatchObject({ error: { field: 'q', message: 'q: at most 200 characters' } });
  });

  it('imports an xlsx, csv or JSON Lines upload: every problem by row and column, nothing created until it is clean', async () => {
    const srv = await server();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const csv = 'Camera,day,password\nlobby,2026-12-01,pw1\ngarage,1 Dec,pw2\nroof,,pw3\n';
    const checked = await call<{ rows: number; errors: unknown[]; jobs: string[] }>(srv, 'POST', '/api/v1/imports?dryRun=true', { format: 'csv', name: '../../etc/cams.csv', data: b64(csv), template: 'clip', defaults: { owner: 'alice' } });
    expect(checked.status).toBe(422);
    expect(checked.body).toEqual({
      rows: 3,
      jobs: [],
      tag: 'import:cams.csv',
      errors: [
        { row: 3, column: 'day', message: 'cams.csv row 3, column 2 (day): does not match ^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
        { row: 4, column: 'day', message: 'cams.csv row 4, column 2 (day): missing, required by template clip' },
      ],
    });
    expect((await call<{ counts: Record<string, number> }>(srv, 'GET', '/api/v1/jobs/counts')).body.counts.queued).toBe(0);
    const missing = await call<{ errors: Array<{ message: string }> }>(srv, 'POST', '/api/v1/imports?dryRun=true', { format: 'jsonl', data: b64('{"camera":"a"}\n'), template: 'clip' });
    expect(missing.body.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^upload\.jsonl: column "day" missing, required by template clip/), expect.stringMatching(/^upload\.jsonl: column "password" missing/)]);

    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('cams');
    ws.addRow(['camera', 'DAY']);
    ws.addRow(['lobby', '2026-12-01']);
    ws.addRow(['garage', '2026-12-02']);
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer()).toString('base64');
    const req = { format: 'xlsx', name: 'cams.xlsx', data: xlsx, template: 'clip', defaults: { queue: 'nvr', priority: '5', tags: ['nightly'], params: { password: 'shared-secret' } } };
    const dry = await call(srv, 'POST', '/api/v1/imports?dryRun=true', req);
    expect(dry).toMatchObject({ status: 200, body: { rows: 2, errors: [], jobs: [] } });
    const made = await call<{ jobs: string[]; tag: string }>(srv, 'POST', '/api/v1/imports', req);
    expect(made.status).toBe(201);
    expect(made.body.tag).toBe('import:cams.xlsx');
    const again = await call<{ tag: string }>(srv, 'POST', '/api/v1/imports', req);
    expect(again.body.tag).toBe('import:cams.xlsx#2');
    const listed = await call<{ jobs: Job[] }>(srv, 'GET', `/api/v1/jobs?tag=${encodeURIComponent('import:cams.xlsx')}`);
    expect(listed.body.jobs.map((j) => [j.id, j.queue, j.priority, j.tags, j.params])).toEqual(made.body.jobs.map((id, i) => [id, 'nvr', 5, ['nightly', 'import:cams.xlsx'], { password: '***', camera: ['lobby', 'garage'][i], day: `2026-12-0${i + 1}` }]));

    const bad = await call(srv, 'POST', '/api/v1/imports', { format: 'xlsx', data: b64('not a zip'), kind: 'noop' });
    expect(bad).toMatchObject({ status: 400, body: { error: { field: 'data', message: expect.stringMatching(/^upload\.xlsx: /) } } });
    expect((await call(srv, 'POST', '/api/v1/imports', { format: 'xls', data: '', kind: 'noop' })).body).toMatchObject({ error: { field: 'format' } });
    expect((await call(srv, 'POST', '/api/v1/imports', { format: 'csv', data: b64('a\n1\n'), template: 'nope' })).body).toMatchObject({ error: { field: 'template', message: 'template: unknown template "nope" (known: clip)' } });
  });

  it('signs in with a token into an http-only cookie; a worker token cannot; changes under the cookie need the CSRF header', async () => {
    const srv = await server(true);
    expect((await call(srv, 'GET', '/api/v1/session')).body).toEqual({ authRequired: true, signedIn: false, role: null, csrf: null });
    expect((await call(srv, 'POST', '/api/v1/session', { token: 'wrong' })).status).toBe(401);
    expect((await call(srv, 'POST', '/api/v1/session', { token: WORKER })).status).toBe(403);
    const ok = await call<{ csrf: string }>(srv, 'POST', '/api/v1/session', { token: ADMIN });
    expect(ok.status).toBe(200);
    const setCookie = ok.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^drover_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = { cookie: setCookie.split(';')[0] as string };
    expect((await call(srv, 'GET', '/api/v1/session', undefined, cookie)).body).toEqual({ authRequired: true, signedIn: true, role: 'admin', csrf: ok.body.csrf });
    expect((await call(srv, 'GET', '/api/v1/stats', undefined, cookie)).status).toBe(200);
    expect((await call(srv, 'POST', '/api/v1/queues/nvr/pause', {}, cookie)).status).toBe(403);
    expect((await call(srv, 'POST', '/api/v1/queues/nvr/pause', {}, { ...cookie, 'x-drover-csrf': 'guess' })).status).toBe(403);
    expect((await call(srv, 'POST', '/api/v1/queues/nvr/pause', {}, { ...cookie, 'x-drover-csrf': ok.body.csrf })).status).toBe(200);
    // The SSE stream takes the cookie too.
    const stream = await listen(srv, '', cookie);
    expect(stream.res.status).toBe(200);
    expect((await call(srv, 'DELETE', '/api/v1/session', undefined, cookie)).headers.get('set-cookie')).toMatch(/^drover_session=; .*Max-Age=0/);
    expect((await call(srv, 'GET', '/api/v1/stats', undefined, cookie)).body).toMatchObject({ error: { code: 'unauthorized', message: 'the dashboard session has expired or ended; sign in again' } });
  });

  it('serves the page with a strict content security policy, and its hashed assets cached for good', async () => {
    const srv = await server();
    const page = await fetch(`${srv.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const js = /src="\/assets\/(app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    const asset = await fetch(`${srv.url}/assets/${js}`);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const again = await fetch(`${srv.url}/assets/${js}`, { headers: { 'if-none-match': asset.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
    for (const p of ['/assets/..%2F..%2Fpackage.json', '/assets/nope.js', '/assets/.index.html', '/assets/index.html']) expect((await fetch(srv.url + p)).status).toBe(404);
  });

  it('keeps what it shows honest: no progress from a worker without the lease, no events for worker tokens, no repeated query keys, no import past 50,000 rows', async () => {
    const srv = await server(true);
    const admin = { authorization: `Bearer ${ADMIN}` };
    const asWorker = { authorization: `Bearer ${WORKER}` };
    expect((await call(srv, 'GET', '/api/v1/events', undefined, asWorker)).status).toBe(401);
    expect((await call(srv, 'GET', '/api/v1/stats/finished', undefined, asWorker)).status).toBe(401);
    const all = await listen(srv, '', admin);
    await waitFor(() => srv.coordinator.events.listening, 5_000, 'the listener');
    const { body } = await call<{ jobs: Job[] }>(srv, 'POST', '/api/v1/jobs', { kind: 'noop' }, admin);
    const id = body.jobs[0]!.id;
    const hb = await call<{ answers: Array<{ status: string }> }>(srv, 'POST', '/api/v1/heartbeat', { worker: { name: 'evil', running: 1 }, jobs: [{ id, token: 'bogus', progress: { percent: 99, message: 'spoofed' } }] }, asWorker);
    expect(hb.body.answers[0]!.status).toBe('lost');
    const leased = await call<{ jobs: LeasedJob[] }>(srv, 'POST', '/api/v1/lease', { worker: worker('w1'), limit: 1 }, asWorker);
    await call(srv, 'POST', '/api/v1/heartbeat', { worker: { name: 'w1', running: 1 }, jobs: [{ id, token: leased.body.jobs[0]!.lease.token, progress: { percent: 5 } }] }, asWorker);
    await waitFor(() => all.events.some((e) => e.type === 'progress'), 10_000, 'the real progress');
    expect(all.events.filter((e) => e.type === 'progress').map((e) => e.data.progress)).toEqual([{ percent: 5 }]);

    expect((await call(srv, 'GET', '/api/v1/jobs?q=a&q=b', undefined, admin)).body).toEqual({ error: { code: 'invalid', message: 'q: given more than once in the query', field: 'q' } });
    const big = Buffer.from(`camera\n${'x\n'.repeat(50_001)}`).toString('base64');
    expect((await call(srv, 'POST', '/api/v1/imports?dryRun=true', { format: 'csv', name: 'big.csv', data: big, kind: 'noop' }, admin)).body).toMatchObject({ error: { field: 'data', message: 'big.csv: more than 50000 data rows; split the file' } });
  });

  it('without tokens, answers its loopback names only and refuses changes sent by another site', async () => {
    const srv = await server();
    const port = new URL(srv.url).port;
    expect((await call(srv, 'POST', '/api/v1/queues/nvr/pause', {})).status).toBe(200);
    const forged = await call(srv, 'POST', '/api/v1/queues/nvr/resume', {}, { origin: 'https://evil.example' });
    expect(forged).toMatchObject({ status: 403, body: { error: { message: expect.stringContaining("another site's page is refused") } } });
    expect((await call(srv, 'POST', '/api/v1/queues/nvr/resume', {}, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await call(srv, 'POST', '/api/v1/queues/nvr/resume', {}, { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    // A name rebound to 127.0.0.1 is not this coordinator's.
    const rebound = await rawRequest(srv.url, `GET /api/v1/stats HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`);
    expect(rebound.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    expect((await call(srv, 'GET', '/api/v1/stats', undefined, {})).status).toBe(200);
  });
});

/** Sends `text` as it is and reads the answer until the server closes. */
async function rawRequest(url: string, text: string): Promise<string> {
  const net = await import('node:net');
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(text));
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
}
