import pg from 'pg';
import { performance } from 'node:perf_hooks';
import type { QueueFigures } from './queue-bench.js';
import { StartProbe, startLatency } from './stats.js';

/**
 * Graphile Worker 0.16 on the given PostgreSQL database (its own schema): jobs added in batches
 * of 1,000 (add_jobs) while a runner with the given concurrency processes no-op jobs; then the add→start
 * latency with an idle runner. A devDependency, loaded only here.
 */
export async function benchGraphile(url: string, jobs: number, samples: number, concurrency: number): Promise<QueueFigures> {
  const { run, makeWorkerUtils, Logger } = await import('graphile-worker');
  // Our own pool, ended by us: Graphile's may still hold an idle connection when the bench drops
  // the database, and its error would be unhandled.
  const pgPool = new pg.Pool({ connectionString: url, max: concurrency + 2 });
  pgPool.on('error', () => undefined);
  // Quiet: its default logger prints a line per job, which would cost it time in this race.
  const logger = new Logger(() => () => undefined);
  let done = 0;
  let resolveAll: () => void = () => {};
  const all = new Promise<void>((r) => (resolveAll = r));
  const probe = new StartProbe();
  const runner = await run({
    pgPool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger,
    taskList: {
      noop: async () => {
        probe.started();
      },
    },
  });
  runner.events.on('job:success', () => {
    if (++done === jobs) resolveAll();
  });
  const utils = await makeWorkerUtils({ pgPool, logger });
  try {
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += 1000) {
      const n = Math.min(1000, jobs - i);
      // Graphile's own batch insert (add_jobs), as its batched benchmarks use.
      await utils.withPgClient((c) =>
        c.query(
          `SELECT graphile_worker.add_jobs((SELECT array_agg(row('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec) FROM generate_series(1, $1)))`,
          [n],
        ),
      );
    }
    await all;
    const seconds = (performance.now() - t0) / 1000;
    const lat = await startLatency(samples, () => utils.addJob('noop', {}), probe);
    return { jobsPerSec: jobs / seconds, ...lat };
  } finally {
    await runner.stop();
    await utils.release();
    await pgPool.end();
  }
}
