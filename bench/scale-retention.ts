import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DroverClient } from '../src/client/drover-client.js';
import type { Job } from '../src/core/job.js';
import { PostgresJobStore } from '../src/store/postgres/postgres-store.js';
import { SqliteJobStore } from '../src/store/sqlite/sqlite-store.js';
import type { JobStore } from '../src/store/store.js';
import { startDrover } from './drover-procs.js';
import { benchWorker } from './scale-depth.js';
import { quantile } from './stats.js';

export interface RetentionFigures {
  finished: number;
  /** Lease call p50/p99 before the purge and while it ran, ms. */
  before: { p50: number; p99: number };
  during: { p50: number; p99: number; samples: number };
  /** The purge's own time, s, and its rate. */
  purgeSeconds: number;
  deletedPerSec: number;
}

const DAY = 86_400_000;

const BATCH = 5_000;

/** Succeeded jobs `from` to `from + n`, finished two days ago, put straight into the store (its import). */
async function importFinished(store: JobStore, from: number, n: number): Promise<void> {
  const at = Date.now() - 2 * DAY;
  const jobs: Job[] = Array.from({ length: n }, (_, k) => ({
    id: `old${String(from + k).padStart(9, '0')}`, queue: 'default', kind: 'noop', template: null, params: {}, secrets: [], owner: `owner-${k % 50}`, tags: [], priority: 0, runAt: at, maxAttempts: 3, backoffMs: 1_000, backoffMaxMs: 60_000, timeLimitMs: null, concurrencyKey: null, concurrencyLimit: null, node: null, parentId: null,
    state: 'succeeded', attempt: 1, lease: null, stopReason: null, progress: null, result: null, error: null, createdAt: at, updatedAt: at, startedAt: at, finishedAt: at,
  }));
  await store.importJobs({ jobs, attempts: [] });
}

/**
 * `finished` succeeded jobs. On SQLite imported in batches; on PostgreSQL one batch is imported
 * and copied under new ids in one INSERT … SELECT (an import of a million there takes some 8
 * minutes, the copy seconds).
 */
async function fill(store: JobStore, finished: number, db?: string): Promise<void> {
  if (!db) {
    for (let i = 0; i < finished; i += BATCH) await importFinished(store, i, Math.min(BATCH, finished - i));
    return;
  }
  const first = Math.min(BATCH, finished);
  await importFinished(store, 0, first);
  const copies = Math.floor((finished - first) / first);
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    const columns = (await client.query<{ c: string }>(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'jobs' AND column_name <> 'id' ORDER BY ordinal_position`)).rows.map((r) => r.c);
    await client.query(
      `INSERT INTO jobs (id, ${columns.join(', ')})
       SELECT 'old' || lpad((g * ${first} + substr(j.id, 4)::int)::text, 9, '0'), ${columns.map((c) => `j.${c}`).join(', ')}
       FROM jobs j CROSS JOIN generate_series(1, $1::int) g WHERE j.id LIKE 'old%'`,
      [copies],
    );
  } finally {
    await client.end();
  }
  const done = first * (copies + 1);
  for (let i = done; i < finished; i += BATCH) await importFinished(store, i, Math.min(BATCH, finished - i));
}

/**
 * Retention at scale: a store holding `finished` finished jobs (and the queued ones the round
 * takes); the lease call timed one job at a time, first alone, then while `POST /jobs/purge`
 * deletes every finished job (in batches of 1,000, as retention does).
 */
export async function retentionAtScale(o: { finished: number; samples: number; db?: string }): Promise<RetentionFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-retain-'));
  fs.writeFileSync(path.join(dir, 'drover.yaml'), 'server:\n  search_index: false\n');
  const store = o.db ? await PostgresJobStore.open({ url: o.db }) : SqliteJobStore.open({ path: path.join(dir, 'data', 'drover.db') });
  await fill(store, o.finished, o.db);
  await store.close();
  const server = await startDrover(['server', '--port', '0', '--config', path.join(dir, 'drover.yaml'), ...(o.db ? ['--db', o.db] : ['--data', path.join(dir, 'data')])], dir, /coordinator on (http:\/\/[^\s"]+)/);
  const api = new DroverClient({ server: server.match[1] as string });
  try {
    for (let i = 0; i < 3 * o.samples; i += 5_000) await api.enqueueManyIds(Array.from({ length: Math.min(5_000, 3 * o.samples - i) }, () => ({ kind: 'noop' })));
    const worker = benchWorker('retention');
    const one = async () => {
      const t = performance.now();
      const { jobs } = await api.lease({ worker, queues: [], limit: 1, wait: 0 });
      const took = performance.now() - t;
      const job = jobs[0];
      if (!job) throw new Error('bench: the queue ran dry');
      await api.complete([{ id: job.id, token: job.lease.token, outcome: 'succeeded' }]);
      return took;
    };
    const before: number[] = [];
    for (let i = 0; i < o.samples; i++) before.push(await one());
    const t0 = performance.now();
    let purgeSeconds = NaN;
    const purge = api.purge({ before: Date.now() - DAY, states: ['succeeded'] }).then((n) => {
      purgeSeconds = (performance.now() - t0) / 1000;
      return n;
    });
    let purging = true;
    void purge.finally(() => (purging = false));
    const during: number[] = [];
    while (purging && during.length < 2 * o.samples) during.push(await one());
    const deleted = await purge;
    if (deleted !== o.finished) throw new Error(`bench: purge deleted ${deleted} of ${o.finished}`);
    return { finished: o.finished, before: { p50: quantile(before, 0.5), p99: quantile(before, 0.99) }, during: { p50: quantile(during, 0.5), p99: quantile(during, 0.99), samples: during.length }, purgeSeconds, deletedPerSec: deleted / purgeSeconds };
  } finally {
    await api.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
