import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent } from '../src/agent/agent.js';
import { DroverClient } from '../src/client/drover-client.js';
import { silentLogger } from '../src/core/logger.js';
import type { RunContext, RunResult, Runner } from '../src/runners/runner.js';
import { startDrover } from './drover-procs.js';
import { SplitRecorder, type LatencySplit } from './latency-split.js';
import { quantile } from './stats.js';

export interface QueueFigures {
  jobsPerSec: number;
  /** Drover only: where enqueue→start went (p50 of each part). */
  split?: LatencySplit;
  p50Ms: number;
  p99Ms: number;
}

const BATCH = 5_000;

/**
 * Drover side: a coordinator process and a worker process (`drover worker`, no-op jobs);
 * this process enqueues in batches of 5,000 over HTTP and polls until every job succeeded.
 * Then the enqueue→start latency with an idle, long-polling in-process agent.
 */
export async function benchDrover(jobs: number, samples: number, o: { db?: string; coordinators?: number } = {}): Promise<QueueFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-'));
  const store = o.db ? ['--db', o.db] : ['--data', path.join(dir, 'data')];
  const servers = await Promise.all(Array.from({ length: o.coordinators ?? 1 }, () => startDrover(['server', '--port', '0', ...store], dir, /coordinator on (http:\/\/[^\s"]+)/)));
  const urls = servers.map((s) => s.match[1] as string);
  const url = urls[0] as string;
  const api = new DroverClient({ server: url });
  const apis = urls.map((u) => new DroverClient({ server: u }));
  try {
    // One worker process per coordinator, 2000 slots in all.
    const workers = await Promise.all(
      urls.map((u, i) => startDrover(['worker', '--server', u, '--concurrency', String(Math.ceil(2000 / urls.length)), '--name', `bench${i}`], dir, /pulling from/)),
    );
    const t0 = performance.now();
    for (let i = 0, k = 0; i < jobs; i += BATCH, k++) {
      const n = Math.min(BATCH, jobs - i);
      await (apis[k % apis.length] as DroverClient).enqueueManyIds(Array.from({ length: n }, () => ({ kind: 'noop' })));
    }
    // Poll cheaply (one state at a time is one step down an index) until nothing is left to
    // run, then check that every job succeeded.
    for (;;) {
      let left = 0;
      for (const state of ['queued', 'running', 'waiting'] as const) {
        left += (await api.list({ state: [state], limit: 1 })).jobs.length;
        if (left > 0) break;
      }
      if (left === 0) break;
      // Coarse enough not to load the coordinator; at most 2 % of a 5-second run.
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    const counts = await api.counts();
    if (counts.succeeded !== jobs) throw new Error(`bench: expected ${jobs} succeeded jobs, got ${JSON.stringify(counts)}`);
    await Promise.all(workers.map((w) => w.stop()));
    const lat = await latency(url, api, samples);
    return { jobsPerSec: jobs / seconds, ...lat };
  } finally {
    await api.close();
    await Promise.all(apis.map((a) => a.close()));
    await Promise.all(servers.map((s) => s.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Records when each job starts, in this process, so enqueue→start is timed on one clock. */
class StampRunner implements Runner {
  readonly kind = 'noop';
  readonly started = new Map<string, number>();
  waiter: ((id: string) => void) | null = null;
  async run(ctx: RunContext): Promise<RunResult> {
    this.started.set(ctx.job.id, performance.now());
    this.waiter?.(ctx.job.id);
    return { outcome: 'succeeded' };
  }
}

async function latency(url: string, api: DroverClient, samples: number): Promise<{ p50Ms: number; p99Ms: number; split: LatencySplit }> {
  const runner = new StampRunner();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-agent-'));
  const agent = new Agent({ name: 'latency', servers: [url], concurrency: 1, queues: [], runners: [runner], templates: new Map(), outputRoot: dir, logDir: dir, shutdownGraceMs: 1000, logger: silentLogger() });
  agent.start();
  const out: number[] = [];
  const split = new SplitRecorder();
  try {
    for (let i = 0; i < samples + 20; i++) {
      // Let the agent's long poll settle in between, as an idle worker's would.
      await new Promise((r) => setTimeout(r, 5));
      const started = new Promise<string>((r) => (runner.waiter = r));
      split.reset();
      const t = performance.now();
      const job = await api.enqueue({ kind: 'noop' });
      const id = await started;
      if (id !== job.id) throw new Error('bench: unexpected job started');
      if (i < 20) continue;
      out.push((runner.started.get(id) as number) - t);
      split.sample(t, runner.started.get(id) as number);
    }
  } finally {
    split.close();
    await agent.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { p50Ms: quantile(out, 0.5), p99Ms: quantile(out, 0.99), split: split.split() };
}
