import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../src/client/api-client.js';
import { parseConfig } from '../../src/config/config.js';
import { startServer } from '../../src/coordinator/server.js';
import type { Job } from '../../src/core/job.js';
import { tempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(yaml = '') {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: null, worker: null }, templates: parseConfig(yaml).templates.values(), logger });
  cleanups.push(() => srv.close());
  const api = new ApiClient({ servers: srv.url });
  cleanups.push(() => api.close());
  const advertise = (name: string, templates: unknown[]) => api.post('/api/v1/lease', { worker: { name, kinds: ['exec'], templates }, limit: 0 });
  return { api, advertise, warnings };
}

const hik = { name: 'hik', kind: 'exec', required: ['server', 'password'], secrets: ['password'], params: { server: { type: 'string', pattern: '^[a-z0-9.]+$' } }, concurrency: { key: '{server}', limit: 1 }, timeLimitMs: 3_600_000, maxAttempts: null, backoffMs: null };

async function refused(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe("workers' template advertisements", () => {
  it('never weaken secrets, required params or limits: a later worker advertising less changes nothing, and the conflict is logged', async () => {
    const { api, advertise, warnings } = await setup();
    const weaker = { ...hik, required: ['server'], secrets: [], params: {}, concurrency: null, timeLimitMs: null };
    await advertise('w1', [hik]);
    await advertise('w2', [weaker]);
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hik', params: { server: 'nvr1', password: 'Hunter2!' } });
    expect(jobs[0]).toMatchObject({ params: { server: 'nvr1', password: '***' }, secrets: ['password'], concurrencyKey: 'nvr1', concurrencyLimit: 1, timeLimitMs: 3_600_000 });
    const list = await api.get<{ jobs: Job[] }>('/api/v1/jobs');
    expect(JSON.stringify(list)).not.toContain('Hunter2!');
    expect((await refused(api.post('/api/v1/jobs', { template: 'hik', params: { server: 'nvr1' } }))).message).toMatch(/^params\.password: required by template hik/);
    expect((await refused(api.post('/api/v1/jobs', { template: 'hik', params: { server: 'NVR 1', password: 'x' } }))).message).toMatch(/^params\.server: does not match/);
    expect(warnings.some((w) => /^template hik: worker w2 advertises .*secrets \[\].* unlike other workers/.test(w))).toBe(true);
    // Told once, not on every lease.
    await advertise('w2', [weaker]);
    expect(warnings.filter((w) => w.includes('worker w2'))).toHaveLength(1);
    // A worker advertising more secrets makes them secret for every job from then on.
    await advertise('w3', [{ ...hik, secrets: ['password', 'server'] }]);
    expect((await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hik', params: { server: 'nvr2', password: 'p' } })).jobs[0]!.params.server).toBe('***');
  });

  it("the coordinator's config wins over any advertisement", async () => {
    const { api, advertise, warnings } = await setup('templates:\n  hik:\n    argv: [hikload, "--server={server}", "--password={password}"]\n    secrets: [password]\n');
    await advertise('w1', [{ ...hik, secrets: [] }]);
    const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hik', params: { server: 'nvr1', password: 'Hunter2!' } });
    expect(jobs[0]!.params.password).toBe('***');
    expect(warnings.some((w) => /^template hik: worker w1 advertises secrets \[\] unlike the coordinator's config/.test(w))).toBe(true);
  });

  it('refuses malformed advertisements with 400 naming the field, and enqueues of a good one keep working', async () => {
    const { api, advertise } = await setup();
    const cases: Array<[unknown, RegExp]> = [
      [{ ...hik, required: 5 }, /^worker\.templates\[0\]\.required: /],
      [{ ...hik, secrets: 7 }, /^worker\.templates\[0\]\.secrets: /],
      [{ ...hik, params: null }, /^worker\.templates\[0\]\.params: /],
      [{ ...hik, params: { server: { pattern: '[' } } }, /^worker\.templates\[0\]\.params\.server\.pattern: not a valid regular expression .*missing closing \]/],
      [{ ...hik, concurrency: { key: 5, limit: 1 } }, /^worker\.templates\[0\]\.concurrency\.key: /],
      [{ ...hik, params: { server: { pattern: '(?=a)' } } }, /params\.server\.pattern: not a valid regular expression \(RE2 syntax: no lookaround/],
    ];
    for (const [t, message] of cases) {
      const err = await refused(advertise('w1', [t]));
      expect([err.status, err.message]).toEqual([400, expect.stringMatching(message)]);
    }
    await advertise('w1', [hik]);
    expect((await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'hik', params: { server: 'nvr1', password: 'p' } })).jobs).toHaveLength(1);
  });

  it('matches param patterns in linear time: a pattern that backtracks for ever on a backtracking engine answers at once', async () => {
    const { api } = await setup('templates:\n  t:\n    argv: [echo, "{x}"]\n    params:\n      x: { pattern: "^(a+)+$" }\n');
    // 50 characters: a backtracking engine would take hours here (2^50 paths); the test would time out.
    const err = await refused(api.post('/api/v1/jobs', { template: 't', params: { x: `${'a'.repeat(50)}!` } }));
    expect([err.status, err.message]).toEqual([400, 'params.x: does not match ^(a+)+$']);
    expect((await api.post<{ jobs: Job[] }>('/api/v1/jobs', { template: 't', params: { x: 'aaa' } })).jobs).toHaveLength(1);
  });
});
