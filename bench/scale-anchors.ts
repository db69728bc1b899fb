import pg from 'pg';
import { performance } from 'node:perf_hooks';
import type { DepthFigures, RoundSize } from './scale-depth.js';
import { quantile } from './stats.js';

const WARMUP = 100;

/** Intervals between consecutive job starts of a consumer of concurrency 1: what one job costs it, take and finish. */
class Intervals {
  private last = 0;
  readonly xs: number[] = [];
  n = 0;
  private resolve: (() => void) | null = null;
  constructor(private readonly want: number) {}
  started(): void {
    const now = performance.now();
    if (this.n++ > WARMUP) this.xs.push(now - this.last);
    this.last = now;
    if (this.xs.length >= this.want) this.resolve?.();
  }
  done(): Promise<void> {
    return new Promise((r) => (this.resolve = r));
  }
  figures(): { cycleP50Ms: number; cycleP99Ms: number } {
    return { cycleP50Ms: quantile(this.xs, 0.5), cycleP99Ms: quantile(this.xs, 0.99) };
  }
}

/** Counts a throughput run's jobs as they end: `rate` resolves with jobs per second once `n` have. */
class Countdown {
  private done = 0;
  private readonly t0 = performance.now();
  private finish: () => void = () => {};
  private readonly all = new Promise<void>((r) => (this.finish = r));
  constructor(private readonly n: number) {}
  tick(): void {
    if (++this.done === this.n) this.finish();
  }
  async rate(): Promise<number> {
    await this.all;
    return this.n / ((performance.now() - this.t0) / 1000);
  }
}

/**
 * BullMQ at one depth, on the local Redis: `head` jobs and then `depth` more added with addBulk
 * (1,000 a call); a Worker of concurrency 1 takes the head's first jobs one at a time, then one
 * of concurrency 16 runs `run` jobs, with `depth` waiting behind.
 */
export async function bullmqDepth(size: RoundSize): Promise<DepthFigures> {
  const { Queue, Worker } = await import('bullmq');
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
  const name = `drover-scale-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  try {
    const head = WARMUP + 1 + size.cycles + size.run;
    const t0 = performance.now();
    for (let i = 0; i < head + size.depth; i += 1000) {
      const n = Math.min(1000, head + size.depth - i);
      await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
    }
    const enqueuePerSec = (head + size.depth) / ((performance.now() - t0) / 1000);
    const one = new Intervals(size.cycles);
    const seq = new Worker(name, async () => one.started(), { connection, concurrency: 1 });
    await one.done();
    await seq.close();
    const run = new Countdown(size.run);
    const many = new Worker(name, async () => undefined, { connection, concurrency: 16 });
    many.on('completed', () => run.tick());
    const jobsPerSec = await run.rate();
    await many.close();
    return { depth: size.depth, enqueuePerSec, ...one.figures(), jobsPerSec };
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/**
 * Graphile Worker at one depth, on the given database: add_jobs in batches of 1,000 (`head`
 * then `depth`), a runner of concurrency 1 for the one-at-a-time measure, then one of 24 for `run` jobs.
 */
export async function graphileDepth(url: string, size: RoundSize): Promise<DepthFigures> {
  const { run, makeWorkerUtils, Logger } = await import('graphile-worker');
  const pgPool = new pg.Pool({ connectionString: url, max: 26 });
  pgPool.on('error', () => undefined);
  const logger = new Logger(() => () => undefined);
  const utils = await makeWorkerUtils({ pgPool, logger });
  try {
    await utils.migrate();
    const head = WARMUP + 1 + size.cycles + size.run;
    const t0 = performance.now();
    for (let i = 0; i < head + size.depth; i += 1000) {
      const n = Math.min(1000, head + size.depth - i);
      await utils.withPgClient((c) => c.query(`SELECT graphile_worker.add_jobs((SELECT array_agg(row('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec) FROM generate_series(1, $1)))`, [n]));
    }
    const enqueuePerSec = (head + size.depth) / ((performance.now() - t0) / 1000);
    const one = new Intervals(size.cycles);
    const seq = await run({ pgPool, concurrency: 1, noHandleSignals: true, pollInterval: 1000, logger, taskList: { noop: async () => one.started() } });
    await one.done();
    await seq.stop();
    const ran = new Countdown(size.run);
    const many = await run({ pgPool, concurrency: 24, noHandleSignals: true, pollInterval: 1000, logger, taskList: { noop: async () => undefined } });
    many.events.on('job:success', () => ran.tick());
    const jobsPerSec = await ran.rate();
    await many.stop();
    return { depth: size.depth, enqueuePerSec, ...one.figures(), jobsPerSec };
  } finally {
    await utils.release();
    await pgPool.end();
  }
}
