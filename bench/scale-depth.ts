import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DroverClient } from '../src/client/drover-client.js';
import type { WorkerInfo } from '../src/core/reports.js';
import { startDrover } from './drover-procs.js';
import { quantile } from './stats.js';

/** What one round at one queue depth measured, of any of the three systems. */
export interface DepthFigures {
  /** Jobs queued behind the ones the round runs. */
  depth: number;
  enqueuePerSec: number;
  /** One consumer taking and finishing one job at a time: ms per job. */
  cycleP50Ms: number;
  cycleP99Ms: number;
  /** Drover only: of that, the lease call alone (HTTP round trip, claim included), ms. */
  leaseP50Ms?: number;
  leaseP99Ms?: number;
  /** Drover only: one at a time with the outcome and the next lease in one request (`next`), ms per job. */
  oneRequestP50Ms?: number;
  oneRequestP99Ms?: number;
  /** Jobs per second of the throughput run (many slots) with `depth` jobs waiting behind. */
  jobsPerSec: number;
  /** Drover only: the coordinator's peak RSS over the round (VmHWM), MB. */
  coordinatorRssMB?: number;
  /** Drover only: GET /jobs/counts and the first pages of the queued jobs and of one owner's, median and p99 ms. */
  reads?: Record<'counts' | 'queued' | 'owner', { p50: number; p99: number }>;
}

/** The sizes of a round: how many jobs the latency and throughput runs take off the head of the queue. */
export interface RoundSize {
  depth: number;
  /** Sequential take-and-finish samples (after 100 thrown away). */
  cycles: number;
  /** Jobs of the throughput run. */
  run: number;
}

export const OWNERS = 50;
const BATCH = 5_000;
const WARMUP = 100;

/** An in-process consumer's description for the lease call. */
export function benchWorker(name: string): WorkerInfo {
  return { name, host: os.hostname(), kinds: ['noop'], templates: [], slots: 1, running: 0, version: 'bench' };
}

/**
 * Drover at one depth: a coordinator process (`drover server`, server.search_index off: its
 * thread would index the backlog on the same two cores meanwhile), the jobs the round runs
 * enqueued first and `depth` more behind them; then one consumer leasing and completing one job
 * at a time over HTTP, then a `drover worker` process with 2,000 slots for `run` jobs.
 */
export async function droverDepth(size: RoundSize, o: { db?: string } = {}): Promise<DepthFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-scale-'));
  const config = path.join(dir, 'drover.yaml');
  fs.writeFileSync(config, 'server:\n  search_index: false\n');
  const store = o.db ? ['--db', o.db] : ['--data', path.join(dir, 'data')];
  const server = await startDrover(['server', '--port', '0', '--config', config, ...store], dir, /coordinator on (http:\/\/[^\s"]+)/);
  const url = server.match[1] as string;
  const api = new DroverClient({ server: url });
  try {
    const head = 2 * (WARMUP + size.cycles) + size.run;
    const t0 = performance.now();
    await enqueueNoops(api, head);
    await enqueueNoops(api, size.depth);
    const enqueuePerSec = (head + size.depth) / ((performance.now() - t0) / 1000);
    const reads = await timeReads(api);
    const cycles = { ...(await droverCycles(api, size.cycles)), ...(await droverOneRequest(api, size.cycles)) };
    const worker = await startDrover(['worker', '--server', url, '--concurrency', '2000', '--name', 'scale'], dir, /pulling from/);
    // Timed from the worker's first outcome, so its start-up is not in the rate.
    const before = 2 * (WARMUP + size.cycles);
    let from = before;
    while ((from = (await api.counts()).succeeded) === before) await new Promise((r) => setTimeout(r, 5));
    const t1 = performance.now();
    const target = before + size.run;
    let done = from;
    while ((done = (await api.counts()).succeeded) < target) await new Promise((r) => setTimeout(r, 20));
    const jobsPerSec = (done - from) / ((performance.now() - t1) / 1000);
    await worker.stop();
    return { depth: size.depth, enqueuePerSec, ...cycles, jobsPerSec, coordinatorRssMB: peakRssMB(server.child.pid as number), reads };
  } finally {
    await api.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function enqueueNoops(api: DroverClient, n: number): Promise<void> {
  for (let i = 0; i < n; i += BATCH) {
    const k = Math.min(BATCH, n - i);
    await api.enqueueManyIds(Array.from({ length: k }, (_, j) => ({ kind: 'noop', owner: `owner-${(i + j) % OWNERS}` })));
  }
}

/** One job at a time: lease (no wait), complete; the time of each pair. */
async function droverCycles(api: DroverClient, samples: number): Promise<Pick<DepthFigures, 'cycleP50Ms' | 'cycleP99Ms' | 'leaseP50Ms' | 'leaseP99Ms'>> {
  const worker = benchWorker('cycles');
  const out: number[] = [];
  const leases: number[] = [];
  for (let i = 0; i < samples + WARMUP; i++) {
    const t = performance.now();
    const { jobs } = await api.lease({ worker, queues: [], limit: 1, wait: 0 });
    const leased = performance.now();
    const job = jobs[0];
    if (!job) throw new Error('bench: the queue ran dry');
    await api.complete([{ id: job.id, token: job.lease.token, outcome: 'succeeded' }]);
    if (i >= WARMUP) {
      out.push(performance.now() - t);
      leases.push(leased - t);
    }
  }
  return { cycleP50Ms: quantile(out, 0.5), cycleP99Ms: quantile(out, 0.99), leaseP50Ms: quantile(leases, 0.5), leaseP99Ms: quantile(leases, 0.99) };
}

/** The answer to `next` was missing: a coordinator older than the bench. */
export function noNext(): never {
  throw new Error('bench: the coordinator answered POST /complete without next');
}

/** One job at a time, each outcome sent with the next lease (`next`): the time per job. */
async function droverOneRequest(api: DroverClient, samples: number): Promise<Pick<DepthFigures, 'oneRequestP50Ms' | 'oneRequestP99Ms'>> {
  const next = { worker: benchWorker('one-request'), queues: [], limit: 1, wait: 0 };
  let [job] = (await api.lease(next)).jobs;
  const out: number[] = [];
  for (let i = 0; i < samples + WARMUP - 1; i++) {
    if (!job) throw new Error('bench: the queue ran dry');
    const t = performance.now();
    [job] = (await api.completeAndLease([{ id: job.id, token: job.lease.token, outcome: 'succeeded' }], next)).next?.jobs ?? noNext();
    if (i >= WARMUP) out.push(performance.now() - t);
  }
  if (job) await api.complete([{ id: job.id, token: job.lease.token, outcome: 'succeeded' }]);
  return { oneRequestP50Ms: quantile(out, 0.5), oneRequestP99Ms: quantile(out, 0.99) };
}

/** What `drover wait`, `drover jobs --state queued` and an owner's view ask, 30 times each. */
async function timeReads(api: DroverClient): Promise<NonNullable<DepthFigures['reads']>> {
  const time = async (fn: () => Promise<unknown>) => {
    const xs: number[] = [];
    for (let i = 0; i < 33; i++) {
      const t = performance.now();
      await fn();
      if (i >= 3) xs.push(performance.now() - t);
    }
    return { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) };
  };
  return {
    counts: await time(() => api.counts()),
    queued: await time(() => api.list({ state: ['queued'], limit: 50 })),
    owner: await time(() => api.list({ owner: 'owner-7', limit: 50 })),
  };
}

/** The peak resident set of a live process (VmHWM), MB. */
export function peakRssMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
