import { performance } from 'node:perf_hooks';
import type { QueueFigures } from './queue-bench.js';
import { StartProbe, startLatency } from './stats.js';

/**
 * BullMQ side, on the local Redis (REDIS_URL, default redis://127.0.0.1:6379): addBulk in
 * batches of 1,000 while a Worker with the given concurrency processes no-op jobs; then the
 * add→start latency with an idle worker. BullMQ is a devDependency: loaded only here.
 */
export async function benchBullmq(jobs: number, samples: number, concurrency: number): Promise<QueueFigures> {
  const { Queue, Worker } = await import('bullmq');
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
  const name = `drover-bench-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  let done = 0;
  let resolveAll: () => void = () => {};
  const all = new Promise<void>((r) => (resolveAll = r));
  const probe = new StartProbe();
  const worker = new Worker(
    name,
    async (job) => {
      probe.started();
    },
    { connection, concurrency },
  );
  worker.on('completed', () => {
    if (++done === jobs) resolveAll();
  });
  try {
    await worker.waitUntilReady();
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += 1000) {
      const n = Math.min(1000, jobs - i);
      await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
    }
    await all;
    const seconds = (performance.now() - t0) / 1000;
    const lat = await startLatency(samples, () => queue.add('noop', {}), probe);
    return { jobsPerSec: jobs / seconds, ...lat };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}
