import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newJobId } from '../src/core/ids.js';
import type { ListFilter } from '../src/core/job-filter.js';
import { PostgresJobStore } from '../src/store/postgres/postgres-store.js';
import { SqliteJobStore } from '../src/store/sqlite/sqlite-store.js';
import type { JobStore, ResolvedNewJob } from '../src/store/store.js';
import { withFreshDatabase } from './pg-db.js';
import { fmt, spread } from './stats.js';

export interface SearchOptions {
  jobs: number;
  rounds: number;
  /** Samples of each search per round. */
  samples: number;
  backends: Array<'sqlite' | 'pg'>;
}

/** The table's page. */
const PAGE = 50;
const BATCH = 10_000;
/** Jobs enqueued (in batches of 100, then of 1,000) to measure what the index adds to an enqueue. */
const ENQUEUE_COST_JOBS = 20_000;
const TARGET_MS = 100;

/**
 * `npm run bench -- --suite search`: the text search of the jobs table (`q`) on a store of
 * --search-jobs N jobs (default 1,000,000), each backend without and with `server.search_index`
 * in the same run: the first page for a text in one job, in ~1 % of them, in none, and a count;
 * what building the index takes (time, space) and what it adds to each enqueue. The store's
 * calls, no HTTP (the dashboard suite measures the round trip). No anchor: neither BullMQ nor
 * Graphile Worker searches its jobs' data.
 */
export async function searchSuite(o: SearchOptions): Promise<void> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`\nsearch benchmark: ${fmt(o.jobs)} jobs, ${o.rounds} rounds × ${o.samples} samples per search, first page of ${PAGE}, target ≤ ${TARGET_MS} ms; load average ${os.loadavg().map((x) => fmt(x, 2)).join(' ')}`);
  for (const backend of o.backends) {
    if (backend === 'sqlite') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-search-bench-'));
      const file = path.join(dir, 'drover.db');
      const store = SqliteJobStore.open({ path: file });
      try {
        // After a checkpoint: the index's pages land in the write-ahead log first.
        const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
        const side = new Database(file);
        try {
          const search = `${file}-search`;
          await runOne('sqlite', store, o, out, async () => {
            side.pragma('wal_checkpoint(TRUNCATE)');
            return size(file) + size(`${file}-wal`) + size(search) + size(`${search}-wal`);
          }, () => indexedAll(store));
        } finally {
          side.close();
        }
      } finally {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    } else {
      await withFreshDatabase(async (url) => {
        const store = await PostgresJobStore.open({ url, poolSize: 4, listen: false });
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          await runOne('postgres', store, o, out, async () => Number((await c.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n));
        } finally {
          await c.end();
          await store.close();
        }
      });
    }
  }
}

/** Resolves when the SQLite store's indexing thread has built the index and indexed every change. */
async function indexedAll(store: SqliteJobStore): Promise<void> {
  for (;;) {
    const s = store.searchIndexState();
    if (s.error !== null) throw new Error(`search bench: the index failed: ${s.error}`);
    if (!s.on || (s.built && s.backlog === 0)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `settled`: resolves when the index is up to date (SQLite builds and follows it in a thread). */
async function runOne(name: string, store: JobStore, o: SearchOptions, out: (s: string) => void, sizeOf: () => Promise<number>, settled: () => Promise<void> = async () => {}): Promise<void> {
  const t0 = performance.now();
  const probe = await fill(store, o.jobs);
  const fillSec = (performance.now() - t0) / 1000;
  out(`${name}: ${fmt(o.jobs)} jobs enqueued in ${fmt(fillSec, 1)} s (${fmt(o.jobs / fillSec)} jobs/s), database ${fmt((await sizeOf()) / 2 ** 20)} MiB`);
  const searches: Array<{ name: string; run: () => Promise<number> }> = [
    { name: 'first page, q = the url of one job', run: () => page(store, { q: probe.oneUrl }) },
    { name: 'first page, q = 4 characters (a clip id)', run: () => page(store, { q: probe.rare }) },
    { name: 'first page, q = a camera (~1 % of jobs)', run: () => page(store, { q: 'cam-042' }) },
    { name: 'first page, q = a site (~25 % of jobs)', run: () => page(store, { q: 'nvr-b.' }) },
    { name: 'first page, q = in no job', run: () => page(store, { q: 'no-such-camera' }) },
    { name: 'first page, q = clip=0 (punctuation; one job)', run: () => page(store, { q: 'clip=0' }) },
    { name: 'first page, q = the url of one job, newest first', run: () => page(store, { q: probe.oneUrl, order: 'desc' }) },
    { name: "counts, q = the url of one job (the table's)", run: async () => Object.values(await store.counts({ q: probe.oneUrl })).reduce((a, b) => a + b, 0) },
  ];
  const before = await measure(searches, o);
  const sizeBefore = await sizeOf();

  const tb = performance.now();
  const built = await store.setSearchIndex({ on: true });
  await settled();
  const buildSec = (performance.now() - tb) / 1000;
  const sizeAfter = await sizeOf();
  out(`${name}: search index built over ${fmt(built.jobs)} jobs in ${fmt(buildSec, 1)} s; database ${fmt(sizeBefore / 2 ** 20)} → ${fmt(sizeAfter / 2 ** 20)} MiB (+${fmt((100 * (sizeAfter - sizeBefore)) / sizeBefore)} %)`);
  const after = await measure(searches, o);
  // Enqueues last: they add jobs the searches could find.
  const enqueueAfter = [await enqueueCost(store, 100), await enqueueCost(store, 1_000)];
  const tc = performance.now();
  await settled();
  const catchUp = performance.now() - tc;
  await store.setSearchIndex({ on: false });
  const enqueueBefore = [await enqueueCost(store, 100), await enqueueCost(store, 1_000)];

  out(`${'search'.padEnd(52)} ${'found'.padStart(6)} ${'without'.padStart(9)} ${'with index'.padStart(11)}  ${'round medians with index'.padEnd(24)} ≤${TARGET_MS} ms`);
  for (const s of searches) {
    const a = before.get(s.name)!;
    const b = after.get(s.name)!;
    if (a.found !== b.found) throw new Error(`search bench: ${s.name}: ${a.found} found without the index, ${b.found} with it`);
    const per = b.rounds.map((xs) => spread(xs).median);
    const ps = spread(per);
    out(`${s.name.padEnd(52)} ${String(a.found).padStart(6)} ${ms(a.median)} ${ms(b.median)}    ${`${fmt(ps.min, 2)}–${fmt(ps.max, 2)}`.padEnd(24)} ${s.name.startsWith('counts') ? '(context)' : b.median <= TARGET_MS ? 'yes' : 'NO'}`);
  }
  [100, 1_000].forEach((batch, i) => {
    const [a, b] = [enqueueBefore[i] as number, enqueueAfter[i] as number];
    out(`${name}: enqueue of ${fmt(ENQUEUE_COST_JOBS)} jobs in batches of ${fmt(batch)}: ${fmt(a, 1)} µs/job without the index, ${fmt(b, 1)} µs/job with it (${fmt(b / a, 2)}x)`);
  });
  if (store.shared === false) out(`${name}: the indexing thread caught up with those ${fmt(2 * ENQUEUE_COST_JOBS)} jobs ${fmt(catchUp)} ms after the last enqueue`);
  out('(medians over all samples in ms; found: jobs on the first page, or counted; the same without and with the index, checked)');
}

async function page(store: JobStore, f: ListFilter): Promise<number> {
  return (await store.list({ ...f, limit: PAGE })).jobs.length;
}

async function measure(searches: Array<{ name: string; run: () => Promise<number> }>, o: SearchOptions): Promise<Map<string, { found: number; median: number; rounds: number[][] }>> {
  const res = new Map<string, { found: number; median: number; rounds: number[][] }>();
  for (const s of searches) res.set(s.name, { found: await s.run(), median: 0, rounds: [] });
  for (let r = 0; r < o.rounds; r++) {
    for (const s of searches) {
      const xs: number[] = [];
      for (let i = 0; i < o.samples; i++) {
        const t = performance.now();
        await s.run();
        xs.push(performance.now() - t);
      }
      res.get(s.name)!.rounds.push(xs);
    }
  }
  for (const e of res.values()) e.median = spread(e.rounds.flat()).median;
  return res;
}

let extra = 10_000_000;

/** µs per job of enqueues in batches of `batch`, as the API and imports make them. */
async function enqueueCost(store: JobStore, batch: number): Promise<number> {
  const t = performance.now();
  for (let b = 0; b < ENQUEUE_COST_JOBS; b += batch) {
    const now = Date.now();
    await store.enqueue({ now, jobs: Array.from({ length: batch }, () => jobOf(now, extra++, 'extra')) });
  }
  return ((performance.now() - t) * 1000) / ENQUEUE_COST_JOBS;
}

const SITES = ['a', 'b', 'c', 'd'];

function jobOf(at: number, i: number, site: string): ResolvedNewJob {
  const cam = i % 100;
  const camera = `cam-${String(cam).padStart(3, '0')}`;
  const day = new Date(at - 86_400_000).toISOString().slice(0, 10);
  return {
    id: newJobId(at),
    queue: 'archive',
    kind: 'hikvision',
    template: null,
    params: { camera, day, url: `rtsp://nvr-${site}.example.net:554/Streaming/tracks/${cam + 1}01?starttime=${day.replace(/-/g, '')}T${String(i % 24).padStart(2, '0')}0000Z&clip=${i.toString(36)}`, password: `pw-${i}` },
    secrets: ['password'],
    owner: `owner-${i % 40}`,
    tags: [],
    priority: 0,
    runAt: at,
    maxAttempts: 3,
    backoffMs: 5_000,
    backoffMaxMs: 600_000,
    timeLimitMs: null,
    concurrencyKey: null,
    concurrencyLimit: null,
    node: null,
    parentId: null,
  };
}

/** `n` queued jobs in batches; returns a url found in one job and a 4-character text found in a few. */
async function fill(store: JobStore, n: number): Promise<{ oneUrl: string; rare: string }> {
  let oneUrl = '';
  const probeAt = Math.floor(n / 2);
  for (let b = 0; b < n; b += BATCH) {
    const now = Date.now();
    const jobs: ResolvedNewJob[] = [];
    for (let i = b; i < Math.min(n, b + BATCH); i++) {
      const j = jobOf(now, i, SITES[i % SITES.length] as string);
      if (i === probeAt) oneUrl = j.params.url as string;
      jobs.push(j);
    }
    await store.enqueue({ now, jobs });
  }
  // The clip of the probe's job, in base 36: 4 characters, as no other clip below 36^4 jobs has them.
  return { oneUrl, rare: probeAt.toString(36) };
}

function ms(x: number): string {
  return fmt(x, x < 10 ? 2 : x < 100 ? 1 : 0).padStart(9);
}
