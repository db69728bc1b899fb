import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import type { Job } from '../../src/core/job.js';
import { spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { freshDatabase } from '../support/pg.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await freshDatabase('drover_cluster');
});
afterAll(async () => {
  await db.drop();
});

/**
 * Jobs in the big run. Each is a real process, about 60 a second on 2 cores, so CI runs 3,000;
 * DROVER_CLUSTER_JOBS=20000 runs the figure (about 6 minutes).
 */
const JOBS = Number(process.env.DROVER_CLUSTER_JOBS ?? 3_000);

function client(urls: string): ApiClient {
  const c = new ApiClient({ servers: urls });
  onCleanup(() => c.close());
  return c;
}

/** Succeeded jobs of one template (the tests share a database). */
async function succeeded(api: ApiClient, template: string): Promise<number> {
  return (await api.get<{ counts: Record<string, number> }>(`/api/v1/jobs/counts?template=${template}`)).counts.succeeded ?? 0;
}

describe('a cluster of coordinators on PostgreSQL', () => {
  it(`runs ${JOBS} ledger jobs on 3 coordinators and 6 workers x 2 slots, each exactly once, with one coordinator killed midway`, async () => {
    const dir = tempDir();
    const ledger = path.join(dir, 'ledger.txt');
    writeConfig(dir, `server:\n  lease_ttl: 3s\n  heartbeat_interval: 500ms\ntemplates:\n  ledger:\n    argv: [/bin/sh, -c, 'echo "$0" >> "$1"', "{id}", ${JSON.stringify(ledger)}]\n    max_attempts: 5\n`);
    const coords = await Promise.all([0, 1, 2].map(() => startServer(dir, ['--db', db.url])));
    const urls = coords.map((c) => c.url);
    for (let i = 0; i < 6; i++) {
      // Each worker prefers a different coordinator and fails over to the others.
      const order = [...urls.slice(i % 3), ...urls.slice(0, i % 3)].join(',');
      spawnDrover(['worker', '--server', order, '--concurrency', '2', '--name', `w${i}`], { cwd: dir });
    }
    const api = client(urls.join(','));
    for (let i = 0; i < JOBS; i += 5000) {
      const n = Math.min(5000, JOBS - i);
      await client(urls[(i / 5000) % 3] as string).post('/api/v1/jobs?return=ids', { jobs: Array.from({ length: n }, () => ({ template: 'ledger' })) });
    }
    await waitFor(async () => (await succeeded(api, 'ledger')) >= JOBS / 3, 300_000, 'a third done');
    coords[0]!.proc.kill('SIGKILL');
    await coords[0]!.exited;
    const survivors = client(urls.slice(1).join(','));
    await waitFor(async () => (await succeeded(survivors, 'ledger')) === JOBS, 600_000, 'every job succeeded');
    const ids = fs.readFileSync(ledger, 'utf8').trim().split('\n');
    const seen = new Map<string, number>();
    for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
    expect(seen.size).toBe(JOBS);
    const twice = [...seen].filter(([, k]) => k > 1);
    expect(twice).toEqual([]);
  }, 900_000);

  it('keeps a key limit of 2 across 3 coordinators', async () => {
    const dir = tempDir();
    const keyDir = path.join(dir, 'keys');
    const ledger = path.join(dir, 'ledger.txt');
    const fake = path.resolve(import.meta.dirname, '../fixtures/fake-hikload.mjs');
    writeConfig(dir, `templates:\n  nvr:\n    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(fake)}, "--server={server}", "--user=u", "--password=p", "--cameras=1", --downloads, "{outdir}"]\n    concurrency: { key: "{server}", limit: 2 }\n`);
    const coords = await Promise.all([0, 1, 2].map(() => startServer(dir, ['--db', db.url])));
    for (let i = 0; i < 3; i++) spawnDrover(['worker', '--server', coords[i]!.url, '--concurrency', '3', '--name', `k${i}`], { cwd: dir, env: { KEY_DIR: keyDir, LEDGER: ledger, SLEEP_MS: '200' } });
    const api = client(coords[0]!.url);
    await api.post('/api/v1/jobs?return=ids', { jobs: Array.from({ length: 30 }, () => ({ template: 'nvr', params: { server: 'one-nvr' } })) });
    await waitFor(async () => (await succeeded(api, 'nvr')) === 30, 120_000, '30 succeeded');
    const active = fs.readFileSync(ledger, 'utf8').split('\n').filter((l) => l.startsWith('active ')).map((l) => Number(l.split(' ')[2]));
    expect(active).toHaveLength(30);
    expect(Math.max(...active)).toBe(2);
  });

  it('lets a worker go on through another coordinator when its own dies, so its job is neither lost nor run twice', async () => {
    const dir = tempDir();
    const ledger = path.join(dir, 'ledger.txt');
    const fake = path.resolve(import.meta.dirname, '../fixtures/fake-hikload.mjs');
    writeConfig(dir, `server:\n  lease_ttl: 3s\n  heartbeat_interval: 300ms\ntemplates:\n  slow:\n    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(fake)}, "--server=x", "--user=u", "--password=p", "--cameras=1", --downloads, "{outdir}"]\n    env: { JOB_ID: "{id}" }\n`);
    const [a, b] = await Promise.all([startServer(dir, ['--db', db.url]), startServer(dir, ['--db', db.url])]);
    spawnDrover(['worker', '--server', `${a.url},${b.url}`, '--concurrency', '1', '--name', 'fo'], { cwd: dir, env: { LEDGER: ledger, SLEEP_MS: '4000' } });
    const { jobs } = await client(b.url).post<{ jobs: Job[] }>('/api/v1/jobs', { template: 'slow' });
    const id = jobs[0]!.id;
    await waitFor(() => fs.existsSync(ledger) && fs.readFileSync(ledger, 'utf8').includes(`start ${id}`), 15_000, 'start');
    a.proc.kill('SIGKILL');
    await waitFor(async () => (await client(b.url).get<{ job: Job }>(`/api/v1/jobs/${id}`)).job.state === 'succeeded', 30_000, 'success through B');
    const lines = fs.readFileSync(ledger, 'utf8').split('\n');
    expect(lines.filter((l) => l.startsWith(`start ${id}`))).toHaveLength(1);
    const attempts = (await client(b.url).get<{ attempts: Array<{ outcome: string }> }>(`/api/v1/jobs/${id}`)).attempts;
    expect(attempts.map((x) => x.outcome)).toEqual(['succeeded']);
  });
});
