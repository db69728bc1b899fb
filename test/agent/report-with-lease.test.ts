import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { OutcomeReporter, type NextLease } from '../../src/agent/reporter.js';
import { ApiClient } from '../../src/client/api-client.js';
import { DroverClient } from '../../src/client/drover-client.js';
import { startServer } from '../../src/coordinator/server.js';
import type { Job } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import type { LeaseAnswer } from '../../src/protocol/messages.js';
import { NoopRunner } from '../../src/runners/noop/noop-runner.js';
import { startHoldingProxy } from '../support/holding-proxy.js';
import { handlerServer } from '../support/http-server.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const count = (seen: string[], line: string) => seen.filter((s) => s === line).length;

describe('a worker reporting an outcome', () => {
  it('takes its next job in the same request (POST /complete with next), not with a lease request of its own', async () => {
    const dir = tempDir();
    const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger() });
    cleanups.push(() => srv.close());
    const api = new ApiClient({ servers: [srv.url] });
    cleanups.push(() => api.close());
    const jobs = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: Array.from({ length: 30 }, (_, i) => ({ kind: 'noop', params: { echo: i } })) })).jobs;
    const proxy = await startHoldingProxy(srv.url);
    const agent = new Agent({ name: 'w1', servers: [proxy.url], concurrency: 1, queues: [], runners: [new NoopRunner()], templates: new Map(), outputRoot: tempDir(), logDir: path.join(dir, 'logs'), shutdownGraceMs: 1000, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    await waitFor(async () => (await api.get<{ counts: Record<string, number> }>('/api/v1/jobs/counts')).counts.succeeded === 30, 30_000, '30 succeeded');
    // The first lease, and the long poll once the queue ran dry: every other job came with an outcome.
    await waitFor(() => count(proxy.seen, 'POST /api/v1/lease') >= 2, 30_000, 'the long poll after the last job');
    expect(count(proxy.seen, 'POST /api/v1/lease')).toBe(2);
    expect(count(proxy.seen, 'POST /api/v1/complete')).toBe(30);
    const last = await api.get<{ job: Job }>(`/api/v1/jobs/${jobs[29]!.id}`);
    expect(last.job.result).toEqual({ echo: 29 });
    // The slot was never overfilled: one job at a time, each leased once.
    const attempts = await Promise.all(jobs.map(async (j) => (await api.get<{ job: Job }>(`/api/v1/jobs/${j.id}`)).job.attempt));
    expect(new Set(attempts)).toEqual(new Set([1]));
  });

  it('keeps all its slots leasing when a coordinator refuses outcomes sent with a lease', async () => {
    const dir = tempDir();
    const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger() });
    cleanups.push(() => srv.close());
    // A coordinator in front that refuses `next` as an older one might (400), passing all else on.
    let refused = 0;
    const front = await handlerServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/api/v1/complete' && (JSON.parse(body.toString()) as { next?: unknown }).next !== undefined) {
          refused++;
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'validation', message: 'next: not understood', field: 'next' } }));
          return;
        }
        void fetch(`${srv.url}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers: { 'content-type': 'application/json' }, ...(body.length > 0 ? { body } : {}) }).then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
        });
      });
    });
    const api = new ApiClient({ servers: [srv.url] });
    cleanups.push(() => api.close());
    await api.post('/api/v1/jobs', { jobs: Array.from({ length: 20 }, () => ({ kind: 'noop' })) });
    const agent = new Agent({ name: 'w1', servers: [front], concurrency: 2, queues: [], runners: [new NoopRunner()], templates: new Map(), outputRoot: tempDir(), logDir: path.join(dir, 'logs'), shutdownGraceMs: 1000, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    // Every job runs: the slots held for the refused lease, and for those never sent, went back to the lease loop.
    await waitFor(async () => (await api.get<{ counts: Record<string, number> }>('/api/v1/jobs/counts')).counts.succeeded === 20, 30_000, '20 succeeded');
    expect(refused).toBe(1);
  });

  it('sends its outcomes alone from then on when a coordinator refuses them with a lease, losing none', async () => {
    const bodies: Array<{ items: Array<{ id: string }>; next?: unknown }> = [];
    const url = await handlerServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as { items: Array<{ id: string }>; next?: unknown };
        bodies.push(body);
        res.setHeader('content-type', 'application/json');
        if (body.next) {
          res.statusCode = 400;
          res.end(JSON.stringify({ error: { code: 'validation', message: 'next: not understood', field: 'next' } }));
          return;
        }
        res.end(JSON.stringify({ answers: body.items.map(() => ({ status: 'ok', state: 'succeeded', late: false })) }));
      });
    });
    const api = new DroverClient({ server: [url] });
    cleanups.push(() => api.close());
    const settled: Array<LeaseAnswer | null> = [];
    const next = (): NextLease => ({
      request: { worker: { name: 'w1', host: 'h', kinds: ['noop'], templates: [], slots: 1, running: 0, version: 'test' }, queues: [], limit: 1, wait: 0 },
      settle: (a) => settled.push(a),
    });
    const reporter = new OutcomeReporter(api, silentLogger(), () => 5_000, next);
    const first = await reporter.report({ id: 'j1', token: 't1', outcome: 'succeeded' });
    const second = await reporter.report({ id: 'j2', token: 't2', outcome: 'succeeded' });
    reporter.stop();
    expect(first).toMatchObject({ status: 'ok' });
    expect(second).toMatchObject({ status: 'ok' });
    // Refused once with the lease, sent again alone, and alone after that.
    expect(bodies.map((b) => [b.items.map((i) => i.id), b.next !== undefined])).toEqual([
      [['j1'], true],
      [['j1'], false],
      [['j2'], false],
    ]);
    // Every batch's lease settled with nothing, sent or not (its slots go back to the lease loop):
    // the refused one, and those of the two batches sent alone after it.
    expect(settled).toEqual([null, null, null]);
  });
});
