import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import type { Job } from '../../src/core/job.js';
import { runDrover, spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { freshDatabase } from '../support/pg.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await freshDatabase('drover_e2e');
});
afterAll(async () => {
  await db.drop();
});

function client(url: string): ApiClient {
  const c = new ApiClient({ servers: url });
  onCleanup(() => c.close());
  return c;
}

const worker = { name: 'w1', kinds: ['noop'], templates: [] };

describe('several coordinators on one PostgreSQL database', () => {
  for (const listen of [true, false]) {
    it(`wake a worker long-polling coordinator A when a job is enqueued on B (${listen ? 'LISTEN/NOTIFY' : 'polling fallback'})`, async () => {
      const dir = tempDir();
      // With LISTEN, polls are rare (30 s): only a notification can wake the 10 s long poll in time.
      writeConfig(dir, `server:\n  pg_listen: ${listen}\n  poll_interval: ${listen ? '30s' : '300ms'}\n`);
      const [a, b] = await Promise.all([startServer(dir, ['--db', db.url]), startServer(dir, ['--db', db.url])]);
      expect(a.output()).not.toContain('postgres@');
      const lease = client(a.url).post<{ jobs: Job[] }>('/api/v1/lease', { worker, limit: 1, wait: 10_000 }, { timeoutMs: 20_000 });
      // Let the long poll start waiting on A.
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      const { jobs } = await client(b.url).post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });
      const got = await lease;
      const ms = Date.now() - t0;
      expect(got.jobs.map((j) => j.id)).toEqual([jobs[0]!.id]);
      // Notified: at once (room for a loaded machine); polling: within one poll interval.
      expect(ms).toBeLessThan(listen ? 2_000 : 1_500);
      // The job is done through B although A leased it: one database.
      const done = await client(b.url).post<{ state: string }>(`/api/v1/jobs/${jobs[0]!.id}/complete`, { token: got.jobs[0]!.lease!.token });
      expect(done.state).toBe('succeeded');
    });
  }

  it('passes maintenance on when the leading coordinator is killed: a dead worker\'s job still comes back', async () => {
    const dir = tempDir();
    writeConfig(dir, `server:\n  lease_ttl: 1s\n`);
    const a = await startServer(dir, ['--db', db.url]);
    // A leads from its first tick; B starts after and stands by.
    await new Promise((r) => setTimeout(r, 1_500));
    const b = await startServer(dir, ['--db', db.url]);
    const { jobs } = await client(b.url).post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop', maxAttempts: 5 });
    // A worker leases it and dies without a heartbeat.
    const got = await client(b.url).post<{ jobs: Job[] }>('/api/v1/lease', { worker: { name: 'doomed', kinds: ['noop'] }, limit: 1 });
    expect(got.jobs[0]?.id).toBe(jobs[0]!.id);
    a.proc.kill('SIGKILL');
    await a.exited;
    const t0 = Date.now();
    await waitFor(async () => (await client(b.url).get<{ job: Job }>(`/api/v1/jobs/${jobs[0]!.id}`)).job.state === 'queued', 15_000, 'B to reap the lease');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('fails clearly at start when the database cannot be reached, without showing the password', async () => {
    const dir = tempDir();
    const r = await runDrover(['server', '--port', '0', '--db', 'postgres://drover:hunter2@127.0.0.1:1/drover'], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot open the PostgreSQL database at postgres:\/\/drover:\*\*\*@127\.0\.0\.1:1\/drover/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('answers 503 while its database is unreachable, loses nothing, and serves again when it is back', async () => {
    const dir = tempDir();
    const own = await freshDatabase('drover_down');
    onCleanup(() => own.drop());
    // The coordinator reaches its database through a proxy this test can take away.
    const target = new URL(own.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const via = new URL(own.url);
    via.port = String(proxy.port);
    const a = await startServer(dir, ['--db', via.toString()]);
    const api = client(a.url);
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'noop' });

    await proxy.cut();
    const res = await fetch(`${a.url}/api/v1/jobs`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/database is unavailable/);
    // An enqueue refused with 503 created nothing; the client knows to send it again.
    expect((await fetch(`${a.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"noop"}' })).status).toBe(503);
    // A worker that starts now keeps asking, with backoff.
    const w = spawnDrover(['worker', '--server', a.url, '--concurrency', '2', '--name', 'w-down'], { cwd: dir });
    await waitFor(() => /cannot lease jobs/.test(w.output()), 15_000, 'the worker to be refused');

    await proxy.restore();
    await waitFor(async () => (await api.get<{ job: Job }>(`/api/v1/jobs/${jobs[0]!.id}`)).job.state === 'succeeded', 20_000, 'the job to run once the database is back');
    expect((await api.get<{ jobs: Job[] }>('/api/v1/jobs')).jobs.map((j) => j.id)).toEqual([jobs[0]!.id]);
    expect(a.proc.exitCode).toBeNull();
  });
});

