import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { ApiClient } from '../../src/client/api-client.js';
import { parseConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { SecretKey } from '../../src/core/secret-box.js';
import { ExecRunner } from '../../src/runners/exec/exec-runner.js';
import { freshDatabase, pgDump } from '../support/pg.js';
import { tempDir, waitFor } from '../support/tmp.js';

/**
 * Secret params encrypted at rest, on a real SQLite file and a real PostgreSQL database: after
 * jobs with secrets went through every path that stores params, the store's bytes hold none of
 * the secret values, and the worker holding each job still gets them in clear.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const S = {
  template: 'Tpl-Hunter2-s3cret',
  hikvision: 'Nvr-Pa55-hikvision',
  download: 'Dl-AuthPw-x9q',
  url: 'UrlPw-in-userinfo',
  child: 'Child-Pa55-from-worker',
  apiSchedule: 'Sched-Api-Pa55',
  configSchedule: 'Sched-Yaml-Pa55',
  number: 4_242_424_242,
};
const SECRET_TEXTS = Object.values(S).map(String);

const WRITE_PASSWORD = "require('fs').writeFileSync('password.txt', process.argv[1])";
const config = parseConfig(`
templates:
  hikload:
    argv: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(WRITE_PASSWORD)}, "{password}", "{server}", "{cameras}"]
    secrets: [password, pin]
    params:
      cameras: { pattern: "^[0-9,]+$" }
      pin: { type: integer }
`);
const hikloadAdvert = { name: 'hikload', kind: 'exec', required: ['password', 'server', 'cameras'], secrets: ['password', 'pin'] };
const worker = { name: 'w', kinds: ['exec', 'noop', 'hikvision', 'download'], templates: [hikloadAdvert], destinations: ['default'] };

type Backend = { name: string; open(): Promise<{ where: { dataDir: string; db?: string }; bytes(): Buffer }> };

const sqlite: Backend = {
  name: 'SQLite',
  async open() {
    const dataDir = path.join(tempDir(), 'data');
    // The database file and its WAL: every page SQLite wrote.
    const bytes = () => Buffer.concat(['drover.db', 'drover.db-wal'].map((f) => path.join(dataDir, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    return { where: { dataDir }, bytes };
  },
};

const postgres: Backend = {
  name: 'PostgreSQL',
  async open() {
    const db = await freshDatabase('drover_secrets');
    cleanups.push(() => db.drop());
    return { where: { dataDir: path.join(tempDir(), 'data'), db: db.url }, bytes: () => Buffer.from(pgDump(db.url)) };
  },
};

async function serve(where: { dataDir: string; db?: string }, o: Partial<Parameters<typeof startServer>[0]> = {}): Promise<{ srv: RunningServer; api: ApiClient }> {
  const srv = await startServer({ port: 0, ...where, tokens: { admin: null, worker: null }, templates: config.templates.values(), logger: silentLogger(), tickMs: 3_600_000, ...o });
  const api = new ApiClient({ servers: srv.url });
  cleanups.push(async () => {
    await api.close();
    await srv.close();
  });
  return { srv, api };
}

const lease = async (api: ApiClient, limit = 50) => (await api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker, limit })).jobs;
const found = (bytes: Buffer) => SECRET_TEXTS.filter((s) => bytes.includes(s));

for (const backend of [sqlite, postgres]) {
  describe(`secret params at rest: ${backend.name}`, () => {
    it('stores no secret value in clear, by every path that stores params; shows *** everywhere; hands the worker the plaintext', async () => {
      const { where, bytes } = await backend.open();
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const { srv, api } = await serve(where, {
        clock,
        schedules: [{ name: 'nightly', every: '1h', job: { template: 'hikload', params: { server: 'yaml-nvr', password: S.configSchedule, cameras: '1' } } }],
      });
      const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', {
        jobs: [
          { template: 'hikload', params: { server: 'nvr-site-a', password: S.template, cameras: '101,201', pin: S.number } },
          { kind: 'hikvision', params: { server: '10.0.0.5', user: 'admin', password: S.hikvision, cameras: '101' } },
          { kind: 'download', params: { url: 'https://cdn.example.com/a.mp4', auth_user: 'alice', auth_password: S.download } },
          { kind: 'download', params: { url: `https://bob:${S.url}@cdn.example.com/b.mp4` } },
          { kind: 'noop', params: { echo: 'parent' } },
        ],
      });
      await api.post('/api/v1/schedules', { name: 'hourly', every: '1h', job: { template: 'hikload', params: { server: 'api-nvr', password: S.apiSchedule, cameras: '7' } } });

      // Every read endpoint: *** as before.
      const reads = [
        await api.get('/api/v1/jobs'),
        ...(await Promise.all(jobs.map((j) => api.get(`/api/v1/jobs/${j.id}`)))),
        await api.get('/api/v1/schedules'),
      ];
      for (const r of reads) expect(found(Buffer.from(JSON.stringify(r)))).toEqual([]);
      expect((await api.get<{ job: Job }>(`/api/v1/jobs/${jobs[0]!.id}`)).job.params).toEqual({ server: 'nvr-site-a', password: '***', cameras: '101,201', pin: '***' });
      const schedules = (await api.get<{ schedules: Array<{ name: string; job: { params: Record<string, unknown> } }> }>('/api/v1/schedules')).schedules;
      expect(schedules.map((s) => [s.name, s.job.params])).toEqual([
        ['hourly', { server: 'api-nvr', password: '***', cameras: '7' }],
        ['nightly', { server: 'yaml-nvr', password: '***', cameras: '1' }],
      ]);

      // The worker holding them gets the plaintext, of the same types.
      const leased = new Map((await lease(api)).map((j) => [j.id, j]));
      expect(leased.get(jobs[0]!.id)!.params).toEqual({ server: 'nvr-site-a', password: S.template, cameras: '101,201', pin: S.number });
      expect(leased.get(jobs[1]!.id)!.params.password).toBe(S.hikvision);
      expect(leased.get(jobs[2]!.id)!.params.auth_password).toBe(S.download);
      expect(leased.get(jobs[3]!.id)!.params.url).toBe(`https://bob:${S.url}@cdn.example.com/b.mp4`);

      // Its log is redacted with the plaintext.
      const t = leased.get(jobs[0]!.id)!;
      await api.post(`/api/v1/jobs/${t.id}/logs`, { token: t.lease.token, chunks: [{ stream: 'stdout', text: `login ${S.template} pin ${S.number} ok\n` }] });
      expect((await api.get<{ chunks: Array<{ text: string }> }>(`/api/v1/jobs/${t.id}/logs`)).chunks[0]!.text).toBe('login *** pin *** ok\n');

      // Children a worker's attempt makes, with secrets of their own.
      const parent = leased.get(jobs[4]!.id)!;
      await api.post('/api/v1/complete', { items: [{ id: parent.id, token: parent.lease.token, outcome: 'succeeded', children: [{ template: 'hikload', params: { server: 'child-nvr', password: S.child, cameras: '3' } }] }] });
      const [child] = await lease(api);
      expect(child).toMatchObject({ parentId: parent.id, params: { password: S.child } });

      // Schedules fire with the plaintext, their jobs sealed again. (The hour also voids the leases above.)
      clock.advance(3_600_000);
      await srv.scheduler.tick();
      const fired = (await lease(api)).filter((j) => ['api-nvr', 'yaml-nvr'].includes(String(j.params.server)));
      expect(fired.map((j) => j.params.password).sort()).toEqual([S.apiSchedule, S.configSchedule].sort());

      const stored = bytes();
      expect(stored.includes('nvr-site-a')).toBe(true);
      expect(stored.includes('drover-enc:v1:')).toBe(true);
      expect(found(stored)).toEqual([]);
      await srv.close();
      expect(found(bytes())).toEqual([]);
    });

    it('runs a job on a real worker with the plaintext: the command gets the password', async () => {
      const { where } = await backend.open();
      const { srv, api } = await serve(where);
      const outputRoot = tempDir();
      const agent = new Agent({ name: 'w1', servers: [srv.url], concurrency: 1, queues: [], runners: [new ExecRunner()], templates: config.templates, outputRoot, logDir: tempDir(), shutdownGraceMs: 1000, logger: silentLogger() });
      agent.start();
      cleanups.push(() => agent.shutdown());
      const [job] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hikload', params: { server: 'nvr', password: S.template, cameras: '1' } })).jobs;
      const done = await waitFor(async () => {
        const j = (await api.get<{ job: Job }>(`/api/v1/jobs/${job!.id}`)).job;
        return j.state === 'succeeded' || j.state === 'failed' ? j : null;
      }, 20_000, 'the job to end');
      expect(done).toMatchObject({ state: 'succeeded', params: { password: '***' } });
      expect(fs.readFileSync(path.join(outputRoot, `hikload_${job!.id}`, 'password.txt'), 'utf8')).toBe(S.template);
    });

    it('fails, not retried, a job sealed under a key this coordinator lacks, naming the key; the other jobs lease on', async () => {
      const { where } = await backend.open();
      const a = SecretKey.generate();
      const first = await serve(where, { secretKey: a });
      const [sealed] = (await first.api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hikload', params: { server: 'nvr', password: S.template, cameras: '1' }, maxAttempts: 3 })).jobs;
      await first.srv.close();
      const b = SecretKey.generate();
      const { api } = await serve(where, { secretKey: b });
      await api.post('/api/v1/jobs', { kind: 'noop', params: { echo: 'fine' } });
      const leased = await lease(api);
      expect(leased.map((j) => j.kind)).toEqual(['noop']);
      const failed = (await api.get<{ job: Job }>(`/api/v1/jobs/${sealed!.id}`)).job;
      expect(failed.state).toBe('failed');
      expect(failed.error).toBe(`its secret params were encrypted with key ${a.id}, which this coordinator does not have (its server.secret_key_file holds key ${b.id}); start the coordinators with the key file the job was made under, then retry it`);
      expect(await lease(api)).toEqual([]);
    });

    it('takes jobs stored in clear before encryption at rest as they are', async () => {
      const { where } = await backend.open();
      const { srv, api } = await serve(where);
      const now = Date.now();
      await srv.store.enqueue({ jobs: [{ id: 'legacy00001', queue: 'default', kind: 'exec', template: 'hikload', params: { server: 'old', password: 'Legacy-Pa55', cameras: '1' }, secrets: ['password'], owner: null, tags: [], priority: 0, runAt: now, maxAttempts: 3, backoffMs: 5000, backoffMaxMs: 600000, timeLimitMs: null, concurrencyKey: null, concurrencyLimit: null, node: null, parentId: null }], now });
      expect((await api.get<{ job: Job }>('/api/v1/jobs/legacy00001')).job.params.password).toBe('***');
      const [j] = await lease(api);
      expect(j!.params.password).toBe('Legacy-Pa55');
      await api.post(`/api/v1/jobs/${j!.id}/logs`, { token: j!.lease.token, chunks: [{ stream: 'stdout', text: 'using Legacy-Pa55\n' }] });
      expect((await api.get<{ chunks: Array<{ text: string }> }>(`/api/v1/jobs/${j!.id}/logs`)).chunks[0]!.text).toBe('using ***\n');
    });

    it('creates the key file at first start (0600 in 0700); refuses one open to others; refuses to make a new key beside secrets sealed under another', async () => {
      const { where } = await backend.open();
      const file = path.join(where.dataDir, 'secret.key');
      const first = await serve(where);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(where.dataDir).mode & 0o777).toBe(0o700);
      await first.api.post('/api/v1/jobs', { template: 'hikload', params: { server: 'nvr', password: S.template, cameras: '1' } });
      await first.srv.close();

      fs.chmodSync(file, 0o644);
      await expect(serve(where)).rejects.toThrow(`secret key file ${file} is open to group or others (mode 0644), and its key decrypts every secret param in the store: chmod 600 ${file}`);
      fs.chmodSync(file, 0o600);

      const kept = fs.readFileSync(file);
      fs.rmSync(file);
      await expect(serve(where)).rejects.toThrow(new RegExp(`secret key file ${file} was missing, but the store holds secret params encrypted with key [0-9a-f]{8}: put that key file back`));
      expect(fs.existsSync(file)).toBe(false);
      fs.writeFileSync(file, kept, { mode: 0o600 });
      const again = await serve(where);
      expect((await lease(again.api))[0]!.params.password).toBe(S.template);
    });
  });
}
