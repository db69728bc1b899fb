import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { DroverClient } from '../src/client/drover-client.js';
import type { LeasedJob } from '../src/core/job.js';
import { cpuOf, startDrover } from './drover-procs.js';
import { quantile } from './stats.js';
import { benchWorker, noNext, peakRssMB } from './scale-depth.js';

export interface ManyWorkersFigures {
  workers: number;
  jobs: number;
  /**
   * Slot-seconds busy over slot-seconds available while jobs were queued for every slot: from the
   * enqueue's commit to the last job's lease (1 = every slot always busy). A slot idle then is
   * the coordinator's doing; after it the queue is empty.
   */
  utilisation: number;
  /** The same from the first enqueue to the last outcome: with the wake of the idle workers and the drain at the end. */
  utilisationWhole: number;
  /** The time from a worker's outcome sent to its next job in hand (`POST /complete` with `next`), ms. */
  handoffP50Ms: number;
  handoffP99Ms: number;
  /** The coordinator's CPU with every worker idle and long-polling, % of one core. */
  idleCpuPct: number;
  /** The same before any worker came: what the coordinator costs on its own (maintenance, timers). */
  aloneCpuPct: number;
  /** Waiting lease requests woken per job enqueued one at a time, every worker idle (drover_lease_wakeups_total). */
  wakeupsPerEnqueue: number;
  /** The coordinator's peak RSS, MB. */
  coordinatorRssMB: number;
}

/**
 * 1,000 simulated workers: one process (this one) holding a lease loop per worker, each its own
 * worker name, 1 slot, over its own keep-alive HTTP connection, long-polling 30 s; a job "runs"
 * `jobMs` (a timer) and is reported with the next lease in the same request (`next`). Against a `drover server` process on SQLite.
 */
export async function manyWorkers(o: { workers: number; jobMs: number; jobsPerWorker: number; idleSeconds: number; singles: number }): Promise<ManyWorkersFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-many-'));
  const config = path.join(dir, 'drover.yaml');
  fs.writeFileSync(config, 'server:\n  search_index: false\n');
  const server = await startDrover(['server', '--port', '0', '--config', config, '--data', path.join(dir, 'data')], dir, /coordinator on (http:\/\/[^\s"]+)/);
  const url = server.match[1] as string;
  const api = new DroverClient({ server: url });
  const stop = new AbortController();
  // Every loop's lease request listens on it.
  setMaxListeners(0, stop.signal);
  /** When each job started running, performance.now(); counted from the busy phase on. */
  let starts: number[] = [];
  let handoffs: number[] = [];
  let lastLeaseAt = 0;
  /** The busy phase's start: a request sent before it waited on an empty queue. */
  let busyFrom = Infinity;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const loop = async (i: number) => {
    const worker = benchWorker(`sim-${String(i).padStart(4, '0')}`);
    const next = { worker, queues: [], limit: 1, wait: 30_000 };
    let jobs: LeasedJob[] = [];
    while (!stop.signal.aborted) {
      try {
        const job = jobs[0];
        if (!job) {
          ({ jobs } = await api.lease(next, { signal: stop.signal }));
          if (jobs.length > 0) starts.push((lastLeaseAt = performance.now()));
          continue;
        }
        await sleep(o.jobMs);
        // The outcome and the next lease in one request, as a busy worker sends them.
        const sent = performance.now();
        jobs = (await api.completeAndLease([{ id: job.id, token: job.lease.token, outcome: 'succeeded' }], next, { signal: stop.signal })).next?.jobs ?? noNext();
        if (jobs.length === 0) continue;
        starts.push((lastLeaseAt = performance.now()));
        if (sent >= busyFrom) handoffs.push(lastLeaseAt - sent);
      } catch (err) {
        if (stop.signal.aborted) return;
        throw err;
      }
    }
  };
  const idleCpu = async () => {
    const cpu0 = cpuOf(server.child.pid as number);
    const ti = performance.now();
    await sleep(o.idleSeconds * 1000);
    return (100 * (cpuOf(server.child.pid as number) - cpu0)) / ((performance.now() - ti) / 1000);
  };
  // Started, its first seconds' compiling and collecting done: then what it costs on its own.
  await sleep(5_000);
  const aloneCpuPct = await idleCpu();
  const loops = Array.from({ length: o.workers }, (_, i) => loop(i));
  try {
    await until(async () => (await metric(url, 'drover_long_polls')) >= o.workers);
    // Idle: every worker long-polling, nothing to do.
    const idleCpuPct = await idleCpu();
    // One job at a time, every worker idle: how many waiting requests each enqueue wakes.
    const w0 = await metric(url, 'drover_lease_wakeups_total');
    for (let i = 0; i < o.singles; i++) {
      await api.enqueue({ kind: 'noop' });
      await sleep(20);
    }
    await until(async () => (await api.counts()).succeeded >= o.singles);
    const wakeupsPerEnqueue = ((await metric(url, 'drover_lease_wakeups_total')) - w0) / o.singles;
    await until(async () => (await metric(url, 'drover_long_polls')) >= o.workers);
    // Every slot busy: jobsPerWorker rounds of work for each worker, enqueued in batches.
    const jobs = o.workers * o.jobsPerWorker;
    starts = [];
    handoffs = [];
    const t0 = performance.now();
    busyFrom = t0;
    for (let i = 0; i < jobs; i += 5_000) await api.enqueueManyIds(Array.from({ length: Math.min(5_000, jobs - i) }, () => ({ kind: 'noop' })));
    const enqueued = performance.now();
    await until(async () => (await api.counts()).succeeded >= o.singles + jobs, 50);
    const ended = performance.now();
    return {
      workers: o.workers,
      jobs,
      utilisation: busyShare(starts, o.jobMs, o.workers, enqueued, lastLeaseAt),
      utilisationWhole: busyShare(starts, o.jobMs, o.workers, t0, ended),
      handoffP50Ms: quantile(handoffs, 0.5),
      handoffP99Ms: quantile(handoffs, 0.99),
      idleCpuPct,
      aloneCpuPct,
      wakeupsPerEnqueue,
      coordinatorRssMB: peakRssMB(server.child.pid as number),
    };
  } finally {
    stop.abort();
    await Promise.allSettled(loops);
    await api.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The share of `slots` × [from, to] that jobs of `jobMs` started at `starts` kept busy. */
function busyShare(starts: number[], jobMs: number, slots: number, from: number, to: number): number {
  let busy = 0;
  for (const s of starts) busy += Math.max(0, Math.min(s + jobMs, to) - Math.max(s, from));
  return busy / (slots * (to - from));
}

async function until(cond: () => Promise<boolean>, everyMs = 100): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, everyMs));
}

/** A counter or gauge (no labels) from the coordinator's /metrics. */
async function metric(url: string, name: string): Promise<number> {
  const res = await request(`${url}/metrics`);
  const text = await res.body.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`bench: no ${name} in /metrics`);
  return Number(m[1]);
}
