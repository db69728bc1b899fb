import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { DroverClient } from '../../src/client/drover-client.js';
import { startServer } from '../../src/coordinator/server.js';
import { silentLogger } from '../../src/core/logger.js';
import { NoopRunner } from '../../src/runners/noop/noop-runner.js';
import client from 'prom-client';
import { collectProcessMetrics } from '../../src/core/process-metrics.js';
import { mirrorMetrics } from '../../src/segments/metrics.js';
import { startSegmentServer } from '../../src/segments/server.js';
import { startWrapper } from '../wrapper/run-support.js';
import { tempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Debian's promtool on the exposition: its lint problems, or '' when there are none. */
function promtoolProblems(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`.trim() || `exit ${r.status}`;
}

describe("the coordinator's /metrics", () => {
  it('passes promtool check metrics, with queue depths and the time histograms per kind and queue', async () => {
    const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger() });
    cleanups.push(() => srv.close());
    const api = new DroverClient({ server: srv.url });
    cleanups.push(() => api.close());
    const agent = new Agent({ name: 'w1', servers: [srv.url], concurrency: 2, queues: [], runners: [new NoopRunner()], templates: new Map(), outputRoot: tempDir(), logDir: tempDir(), shutdownGraceMs: 1000, logger: silentLogger() });
    agent.start();
    cleanups.push(() => agent.shutdown());
    const done = await api.enqueue({ kind: 'noop', queue: 'nvr' });
    expect((await api.wait(done.id)).state).toBe('succeeded');
    await api.pauseQueue('held');
    await api.enqueue({ kind: 'noop', queue: 'held' });

    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(promtoolProblems(text)).toBe('');
    expect(text).toMatch(/^drover_queue_jobs\{queue="held",state="queued"\} 1$/m);
    expect(text).toMatch(/^drover_queue_jobs\{queue="nvr",state="succeeded"\} 1$/m);
    expect(text).toMatch(/^drover_job_wait_seconds_count\{kind="noop",queue="nvr"\} 1$/m);
    expect(text).toMatch(/^drover_job_duration_seconds_count\{kind="noop",queue="nvr",state="succeeded"\} 1$/m);
    expect(text).toMatch(/^drover_lease_claim_seconds_count [1-9]\d*$/m);

    // The example Grafana dashboard asks only for metrics the coordinator has.
    const dashboard = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../deploy/grafana/drover.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const asked = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bdrover_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')))));
    expect(asked.size).toBeGreaterThan(5);
    for (const name of asked) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });
});

describe("the segment server's and drover run's /metrics", () => {
  it('pass promtool check metrics too', async () => {
    const own = new client.Registry();
    collectProcessMetrics(own);
    const seg = await startSegmentServer({ dir: tempDir(), port: 0, logger: silentLogger(), metrics: client.Registry.merge([own, mirrorMetrics.registry]) });
    cleanups.push(() => seg.close());
    expect(promtoolProblems(await (await fetch(`${seg.url}/metrics`)).text())).toBe('');
    const w = await startWrapper(['sleep', '60']);
    const text = await (await fetch(`${w.url}/metrics`)).text();
    expect(text).toMatch(/^# TYPE /m);
    expect(promtoolProblems(text)).toBe('');
    w.proc.kill('SIGTERM');
    await w.exited;
  });
});
