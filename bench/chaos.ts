/**
 * `npm run chaos`: faults on purpose, loopback only, each scenario bounded in time. Every
 * scenario runs ledger jobs (an exec template that appends "ID ATTEMPT start" and "ID ATTEMPT
 * end" to one file with O_APPEND) through a real coordinator and real workers, and at the end
 * checks the ledger against the store: a job is lost when it did not succeed or has no "end"
 * line, duplicated when it has more than one. `fuzz` sends malformed requests to every API
 * route instead (test/support/route-fuzz.ts): no answer may be a 5xx or missing, every error
 * must have the documented shape. Options: --scenarios a,b (coordinator-kill, pg-coordinator-kill,
 * pg-restart, worker-kill, media-kill, partition, disk-full, clock-step, fuzz), --jobs N,
 * --kills N, --pg-down-s N, --partition-s N, --fuzz-requests N, --media-downloads N,
 * --media-ffmpegs N, --media-mb N, --disk-mb N, --disk-full-s N, --clock-jobs N,
 * --clock-limited N. pg-restart and disk-full need root: the first stops the machine's
 * PostgreSQL cluster (pg_ctlcluster), the second mounts a tmpfs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DroverClient } from '../src/client/drover-client.js';
import { fuzzRoutes, startFuzzTarget } from '../test/support/route-fuzz.js';
import { startBlackholeProxy } from './blackhole-proxy.js';
import { check, enqueueLedgerJobs, freePort, killInTurn, processesNaming, recovery, setup, sleep, untilFinal, type Row } from './chaos-ledger.js';
import { clockSteps } from './chaos-clock.js';
import { diskFull } from './chaos-disk.js';
import { mediaWorkerKill } from './chaos-media.js';
import { startDrover, type Proc } from './drover-procs.js';
import { withFreshDatabase } from './pg-db.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : dflt;
};

const startServer = (dir: string, port: number) => startDrover(['server', '--port', String(port), '--data', path.join(dir, 'data')], dir, /coordinator on (http:\/\/[^\s"]+)/);
const startWorker = (dir: string, url: string, name: string, slots: number) =>
  startDrover(['worker', '--server', url, '--name', name, '--concurrency', String(slots), '--output-root', path.join(dir, 'out')], dir, /pulling from/);

/** The coordinator killed with SIGKILL `kills` times while 3 workers × 4 slots run `jobs` jobs. */
async function coordinatorKill(jobs: number, kills: number): Promise<Row> {
  const { dir, ledger } = setup('coordinator', 'server:\n  lease_ttl: 10s\n  heartbeat_interval: 1s\n');
  const port = await freePort();
  const server: Proc[] = [await startServer(dir, port)];
  const url = `http://127.0.0.1:${port}`;
  const client = new DroverClient({ server: url, requestTimeoutMs: 5_000 });
  const workers = await Promise.all(['w1', 'w2', 'w3'].map((n) => startWorker(dir, url, n, 4)));
  const ids = await enqueueLedgerJobs(client, jobs, '0.05');
  const maxRecoveryMs = await killInTurn(server, kills, 1_500, async (i, killed) => {
    server[i] = await startServer(dir, port);
    return recovery(client, killed, 60_000);
  });
  await untilFinal(client, 300_000);
  const r = await check(client, ledger, ids);
  for (const w of workers) await w.stop();
  await server[0]?.stop();
  await client.close();
  return { scenario: 'coordinator SIGKILL (SQLite)', runs: kills, jobs, lost: r.lost, duplicated: r.duplicated, maxRecoveryMs, note: r.notFinal ? `${r.notFinal} not final` : '3 workers × 4 slots' };
}

/** 3 coordinators on one PostgreSQL database, one of them killed with SIGKILL `kills` times (and started again) under load. */
async function pgCoordinatorKill(jobs: number, kills: number): Promise<Row> {
  return withFreshDatabase(async (db) => {
    const { dir, ledger } = setup('pg', 'server:\n  lease_ttl: 10s\n  heartbeat_interval: 1s\n');
    const ports = [await freePort(), await freePort(), await freePort()];
    const start = (port: number) => startDrover(['server', '--port', String(port), '--db', db], dir, /coordinator on (http:\/\/[^\s"]+)/);
    // One after the other: the first makes the secret key file the others then read.
    const servers: Proc[] = [];
    for (const p of ports) servers.push(await start(p));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const client = new DroverClient({ server: urls, requestTimeoutMs: 5_000 });
    const workers = await Promise.all(['w1', 'w2', 'w3'].map((n) => startWorker(dir, urls.join(','), n, 4)));
    const ids = await enqueueLedgerJobs(client, jobs, '0.05');
    const maxRecoveryMs = await killInTurn(servers, kills, 1_500, async (i, killed) => {
      // The others serve meanwhile: the probe measures how long the workers take to go to them.
      const ms = await recovery(client, killed, 60_000);
      servers[i] = await start(ports[i] as number);
      return ms;
    });
    await untilFinal(client, 300_000);
    const r = await check(client, ledger, ids);
    for (const w of workers) await w.stop();
    for (const s of servers) await s.stop();
    await client.close();
    return { scenario: 'coordinator SIGKILL (PostgreSQL, 1 of 3)', runs: kills, jobs, lost: r.lost, duplicated: r.duplicated, maxRecoveryMs, note: r.notFinal ? `${r.notFinal} not final` : '3 workers × 4 slots, jobs of 0.05 s' };
  });
}

/** The machine's PostgreSQL cluster (pg_ctlcluster, as root): its version directory under /etc/postgresql. */
function pgCluster(): string[] | null {
  try {
    const version = fs.readdirSync('/etc/postgresql')[0];
    return version && fs.existsSync('/usr/bin/pg_ctlcluster') ? [version, 'main'] : null;
  } catch {
    return null;
  }
}

const pgCtl = (action: 'stop' | 'start', cluster: string[]) => execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', ...cluster, action], { stdio: 'ignore' });

/** The database itself stopped for `seconds` under load (2 coordinators, 2 workers), then started again. */
async function pgRestart(jobs: number, seconds: number): Promise<Row> {
  const cluster = pgCluster();
  if (!cluster) return { scenario: 'PostgreSQL stopped', runs: 0, jobs: 0, lost: 0, duplicated: 0, maxRecoveryMs: 0, note: 'skipped: no pg_ctlcluster here' };
  return withFreshDatabase(async (db) => {
    const { dir, ledger } = setup('pg-down', 'server:\n  lease_ttl: 60s\n  heartbeat_interval: 1s\n');
    const ports = [await freePort(), await freePort()];
    const servers: Proc[] = [];
    for (const p of ports) servers.push(await startDrover(['server', '--port', String(p), '--db', db], dir, /coordinator on (http:\/\/[^\s"]+)/));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const client = new DroverClient({ server: urls, requestTimeoutMs: 5_000 });
    const workers = await Promise.all(['w1', 'w2'].map((n) => startWorker(dir, urls.join(','), n, 4)));
    const ids = await enqueueLedgerJobs(client, jobs, '0.2');
    await sleep(2_000);
    let maxRecoveryMs = 0;
    try {
      pgCtl('stop', cluster);
      await sleep(seconds * 1_000);
    } finally {
      pgCtl('start', cluster);
    }
    const back = Date.now();
    maxRecoveryMs = await recovery(client, back, 120_000);
    await untilFinal(client, 300_000);
    const r = await check(client, ledger, ids);
    for (const w of workers) await w.stop();
    for (const s of servers) await s.stop();
    await client.close();
    return { scenario: `PostgreSQL stopped ${seconds} s`, runs: 1, jobs, lost: r.lost, duplicated: r.duplicated, maxRecoveryMs, note: `2 coordinators, 2 workers × 4 slots, jobs of 0.2 s${r.notFinal ? `; ${r.notFinal} not final` : ''}` };
  });
}

/** One of 3 workers killed with SIGKILL `kills` times (and started again) while jobs of 1 s run. */
async function workerKill(jobs: number, kills: number): Promise<Row> {
  const { dir, ledger } = setup('worker', 'server:\n  lease_ttl: 3s\n  heartbeat_interval: 500ms\n');
  const port = await freePort();
  const server = await startServer(dir, port);
  const url = `http://127.0.0.1:${port}`;
  const client = new DroverClient({ server: url });
  const workers = await Promise.all(['w1', 'w2', 'w3'].map((n) => startWorker(dir, url, n, 4)));
  const ids = await enqueueLedgerJobs(client, jobs, '1');
  const maxRecoveryMs = await killInTurn(workers, kills, 1_200, async (i, killed) => {
    // Started again under its name: it kills the process groups its dead self left running.
    workers[i] = await startWorker(dir, url, `w${i + 1}`, 4);
    return Date.now() - killed;
  });
  await untilFinal(client, 300_000);
  const r = await check(client, ledger, ids);
  for (const w of workers) await w.stop();
  await server.stop();
  await client.close();
  // A process of a ledger job still running now belongs to no worker: left behind.
  const left = processesNaming(ledger);
  return { scenario: 'worker SIGKILL (exec jobs of 1 s)', runs: kills, jobs, lost: r.lost, duplicated: r.duplicated, maxRecoveryMs, note: `${left} processes left behind${r.notFinal ? `; ${r.notFinal} not final` : ''}` };
}

/** A worker's link to its coordinator black-holed for `seconds` (packets dropped, not refused), then healed. */
async function partition(jobs: number, seconds: number): Promise<Row> {
  const { dir, ledger } = setup('partition', 'server:\n  lease_ttl: 30s\n  heartbeat_interval: 10s\n');
  const port = await freePort();
  const server = await startServer(dir, port);
  const url = `http://127.0.0.1:${port}`;
  const proxy = await startBlackholeProxy({ host: '127.0.0.1', port });
  const client = new DroverClient({ server: url });
  const near = await startWorker(dir, url, 'near', 4);
  const far = await startWorker(dir, proxy.url, 'far', 4);
  const ids = await enqueueLedgerJobs(client, jobs, '2');
  await sleep(3_000);
  proxy.hole();
  await sleep(seconds * 1_000);
  proxy.heal();
  const healed = Date.now();
  // The far worker's first outcome after the heal: its attempts' end times tell.
  let maxRecoveryMs = 0;
  await untilFinal(client, 300_000);
  const r = await check(client, ledger, ids);
  let late = 0;
  let firstFar = Infinity;
  for (const id of ids) {
    for (const a of (await client.get(id)).attempts) {
      if (a.error?.includes('reported after its lease expired')) late++;
      if (a.worker === 'far' && a.endedAt !== null && a.endedAt >= healed) firstFar = Math.min(firstFar, a.endedAt);
    }
  }
  if (Number.isFinite(firstFar)) maxRecoveryMs = firstFar - healed;
  await near.stop();
  await far.stop();
  await proxy.close();
  await server.stop();
  await client.close();
  return { scenario: `partition: a worker black-holed ${seconds} s`, runs: 1, jobs, lost: r.lost, duplicated: r.duplicated, maxRecoveryMs, note: `jobs of 2 s, lease 30 s; ${late} reported late and counted${r.notFinal ? `; ${r.notFinal} not final` : ''}` };
}

/**
 * Every API route fuzzed (test/support/route-fuzz.ts), `requests` requests in all, against a
 * coordinator in this process: a crash ends the run, a broken property is printed with the
 * request and answer fast-check shrank it to.
 */
async function fuzz(requests: number): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-chaos-fuzz-'));
  const target = await startFuzzTarget(path.join(dir, 'data'));
  const started = Date.now();
  try {
    const s = await fuzzRoutes(target, { requests });
    for (const f of s.failures) process.stderr.write(`chaos: fuzz: ${f.report}\n`);
    const answers = (keep: (status: number) => boolean) => Object.entries(s.byStatus).reduce((n, [status, k]) => n + (keep(Number(status)) ? k : 0), 0);
    const note = `${answers((x) => x >= 500)} 5xx, ${s.byStatus['no answer'] ?? 0} unanswered, ${s.failures.length} properties broken; ${answers((x) => x < 400)} 2xx/3xx, ${answers((x) => x >= 400 && x < 500)} 4xx; slowest answer ${Math.round(s.slowestMs)} ms; ${Math.round((Date.now() - started) / 1000)} s`;
    return { scenario: `fuzz: ${Object.keys(s.byRoute).length} routes, malformed requests`, runs: s.requests, jobs: null, lost: null, duplicated: null, maxRecoveryMs: null, failures: s.failures.length, note };
  } finally {
    await target.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const dash = (n: number | null, f: (x: number) => string = String) => (n === null ? '-' : f(n));

async function main(): Promise<void> {
  const scenarios = opt('scenarios', 'coordinator-kill,pg-coordinator-kill,pg-restart,worker-kill,media-kill,partition,disk-full,clock-step,fuzz').split(',');
  const rows: Row[] = [];
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const say = (r: Row) => {
    rows.push(r);
    const ledger = r.jobs === null ? '' : `, ${r.jobs} jobs, ${dash(r.lost)} lost, ${dash(r.duplicated)} duplicated, recovery ≤ ${dash(r.maxRecoveryMs, seconds)}`;
    process.stdout.write(`${r.scenario}: ${r.runs} ${r.failures === undefined ? 'runs' : 'requests'}${ledger} (${r.note})\n`);
  };
  if (scenarios.includes('coordinator-kill')) say(await coordinatorKill(Number(opt('jobs', '5000')), Number(opt('kills', '10'))));
  if (scenarios.includes('pg-coordinator-kill')) say(await pgCoordinatorKill(Number(opt('jobs', '5000')), Number(opt('kills', '10'))));
  if (scenarios.includes('pg-restart')) say(await pgRestart(Number(opt('pg-jobs', '1000')), Number(opt('pg-down-s', '30'))));
  if (scenarios.includes('worker-kill')) say(await workerKill(Number(opt('worker-jobs', '300')), Number(opt('worker-kills', '20'))));
  if (scenarios.includes('media-kill')) say(await mediaWorkerKill({ downloads: Number(opt('media-downloads', '12')), ffmpegs: Number(opt('media-ffmpegs', '12')), kills: Number(opt('worker-kills', '20')), sizeMb: Number(opt('media-mb', '48')) }));
  if (scenarios.includes('partition')) say(await partition(Number(opt('partition-jobs', '200')), Number(opt('partition-s', '60'))));
  if (scenarios.includes('disk-full')) say(await diskFull(Number(opt('disk-mb', '96')), Number(opt('disk-full-s', '10'))));
  if (scenarios.includes('clock-step')) say(await clockSteps(Number(opt('clock-jobs', '300')), Number(opt('clock-limited', '20'))));
  if (scenarios.includes('fuzz')) say(await fuzz(Number(opt('fuzz-requests', '10000'))));
  process.stdout.write('\nscenario                                   runs   jobs  lost  dup  max recovery  note\n');
  for (const r of rows) process.stdout.write(`${r.scenario.padEnd(40)}  ${String(r.runs).padStart(5)}  ${dash(r.jobs).padStart(5)}  ${dash(r.lost).padStart(4)}  ${dash(r.duplicated).padStart(3)}  ${dash(r.maxRecoveryMs, seconds).padStart(12)}  ${r.note}\n`);
  process.exitCode = rows.some((r) => (r.lost ?? 0) > 0 || (r.failures ?? 0) > 0) ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
