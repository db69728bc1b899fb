import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DroverClient } from '../src/client/drover-client.js';
import type { Params } from '../src/core/job.js';
import { cpuOf, startDrover, stopChild } from './drover-procs.js';
import { makeFile, startNginx } from './nginx.js';
import { fmt } from './stats.js';

const MiB = 1024 * 1024;

interface Run {
  seconds: number;
  /** CPU seconds of the downloading process (user + system). */
  cpu: number;
}

/** Runs a command under bash's `times`, so its CPU is measured whatever it forks. */
function timed(cmd: string[], cwd: string): Promise<Run> {
  const script = `${cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')} >/dev/null 2>&1 || exit 97; times`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('bash', ['-c', script], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`${cmd[0]} failed (exit ${code})`));
      // The second line of `times`: children's user and system time, e.g. "0m0.512s 0m1.031s".
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim());
      const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
      resolve({ seconds, cpu });
    });
  });
}

/** Per-connection rate of the rate-limited case, bytes/s (the issue's 20 MB/s). */
const RATE = 20_000_000;

/** Starts the pacing server (throttle-server.ts) as a process of its own; resolves with its URL. */
function startThrottled(root: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'throttle-server.js');
  const child = spawn(process.execPath, [script, root, String(RATE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, stop: () => stopChild(child) });
    });
    child.once('exit', (code) => reject(new Error(`throttle server exited (${code})`)));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** The median run of several: its time and CPU are each the median of theirs. */
function med(runs: Run[]): Run {
  return { seconds: median(runs.map((r) => r.seconds)), cpu: median(runs.map((r) => r.cpu)) };
}

/**
 * `npm run bench -- --suite download`: a 1 GiB file at full speed from loopback nginx next to
 * curl (and aria2c once), and 256 MiB from a server that paces each connection to 20 MB/s next
 * to `aria2c -x16 -s16 -k1M`. Each pair runs `rounds` times, alternating, and the ratios are
 * of the medians: on this VM the kernel's cost of writing a GiB swings between runs by 3x,
 * for every tool alike. Drover is a coordinator and a worker process; its time runs from the
 * job's enqueue to its success, its CPU is the worker process's (every thread).
 */
export async function downloadSuite(o: { bigMiB?: number; slowMiB?: number; rounds?: number; connections?: number } = {}): Promise<void> {
  const have = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
  for (const bin of ['curl', 'aria2c']) if (!have(bin)) process.stdout.write(`download: ${bin} not found (apt-get install -y curl aria2); its rows are skipped\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-dlbench-'));
  const www = path.join(dir, 'www');
  const out = path.join(dir, 'out');
  fs.mkdirSync(www);
  fs.mkdirSync(out);
  const bigMiB = o.bigMiB ?? 1024;
  const slowMiB = o.slowMiB ?? 256;
  const rounds = o.rounds ?? 5;
  const slowConnections = o.connections ?? 32;
  makeFile(path.join(www, 'big.bin'), bigMiB * MiB);
  makeFile(path.join(www, 'slow.bin'), slowMiB * MiB);
  const nginx = await startNginx(www);
  const paced = await startThrottled(www);
  fs.writeFileSync(
    path.join(dir, 'drover.yaml'),
    `worker:\n  destinations: { out: ${JSON.stringify(out)} }\n  download: { tempdir: ${JSON.stringify(path.join(dir, 'tmp'))}, per_host: 64, max_connections: 64 }\n`,
  );
  const server = await startDrover(['server', '--port', '0', '--data', path.join(dir, 'data')], dir, /coordinator on (http:\/\/[^\s"]+)/);
  const url = server.match[1] as string;
  const worker = await startDrover(['worker', '--server', url, '--name', 'bench', '--concurrency', '4'], dir, /pulling from/);
  const api = new DroverClient({ server: url });
  const clean = () => {
    for (const f of fs.readdirSync(out)) fs.rmSync(path.join(out, f), { force: true });
  };
  const drover = async (fileUrl: string, connections: number | null): Promise<Run> => {
    clean();
    const params: Record<string, unknown> = { url: fileUrl, dest: 'out', collision: 'overwrite' };
    if (connections !== null) params.connections = connections;
    const cpu0 = cpuOf(worker.child.pid as number);
    const t0 = performance.now();
    const { id } = await api.enqueue({ kind: 'download', params: params as Params });
    for (;;) {
      const { job } = await api.get(id);
      if (job.state === 'succeeded') {
        if (process.env.DROVER_BENCH_DEBUG) process.stdout.write(`  job: queued→started ${job.startedAt! - job.createdAt} ms, ran ${job.finishedAt! - job.startedAt!} ms, seen ${Date.now() - job.finishedAt!} ms later\n`);
        break;
      }
      if (job.state !== 'running' && job.state !== 'queued') throw new Error(`drover download ${job.state}: ${job.error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { seconds: (performance.now() - t0) / 1000, cpu: cpuOf(worker.child.pid as number) - cpu0 };
  };
  const tool = async (cmd: string[]): Promise<Run> => {
    clean();
    return timed(cmd, dir);
  };
  const row = (name: string, r: Run, mib: number) =>
    process.stdout.write(`${name.padEnd(44)} ${fmt(r.seconds, 2).padStart(6)} s  ${fmt(mib / r.seconds).padStart(5)} MiB/s  cpu ${fmt(r.cpu, 2)} s\n`);
  const list = (runs: Run[]) => runs.map((r) => `${fmt(r.seconds, 2)} s/${fmt(r.cpu, 2)} cpu`).join(', ');
  try {
    process.stdout.write(`download benchmark: ${bigMiB} MiB unthrottled from loopback nginx; ${slowMiB} MiB at ${RATE / 1e6} MB/s per connection; ${rounds} rounds, medians; ${os.availableParallelism()} cores\n`);
    const big = `${nginx.url}/files/big.bin`;
    // Warm the page cache with the source files, so the first tool measured is not the one that pays for it.
    await tool(['curl', '-s', '-o', '/dev/null', big]).catch(() => null);
    await tool(['curl', '-s', '-o', '/dev/null', `${nginx.url}/files/slow.bin`]).catch(() => null);
    if (have('aria2c')) row('aria2c (once)', await tool(['aria2c', '-q', '--allow-overwrite=true', '-d', out, '-o', 'big.bin', big]), bigMiB);
    const curlBig: Run[] = [];
    const drBig: Run[] = [];
    for (let i = 0; i < rounds; i++) {
      if (have('curl')) curlBig.push(await tool(['curl', '-s', '-f', '-o', path.join(out, 'big.bin'), big]));
      drBig.push(await drover(big, null));
    }
    if (curlBig.length) row(`curl (median of ${list(curlBig)})`, med(curlBig), bigMiB);
    row(`drover, 8 connections (median of ${list(drBig)})`, med(drBig), bigMiB);
    if (curlBig.length) {
      const c = med(curlBig);
      const d = med(drBig);
      process.stdout.write(`ratio unthrottled: curl/drover time ${fmt(c.seconds / d.seconds, 2)}x (target ≥ 1.00x); drover/curl cpu ${fmt(d.cpu / c.cpu, 2)}x (target ≤ 1.50x)\n`);
    }

    const slow = `${paced.url}/slow.bin`;
    if (have('curl')) row('curl (once, one connection)', await tool(['curl', '-s', '-f', '-o', path.join(out, 'slow.bin'), slow]), slowMiB);
    const ariaSlow: Run[] = [];
    const drSlow: Run[] = [];
    // Also at aria2c's own connection count (16, its maximum), to show what the extra ones add.
    const drSlow16: Run[] = [];
    for (let i = 0; i < rounds; i++) {
      if (have('aria2c')) ariaSlow.push(await tool(['aria2c', '-q', '-x16', '-s16', '-k1M', '--allow-overwrite=true', '-d', out, '-o', 'slow.bin', slow]));
      drSlow.push(await drover(slow, slowConnections));
      drSlow16.push(await drover(slow, 16));
    }
    if (ariaSlow.length) row(`aria2c -x16 -s16 -k1M (median of ${list(ariaSlow)})`, med(ariaSlow), slowMiB);
    row(`drover, ${slowConnections} connections (median of ${list(drSlow)})`, med(drSlow), slowMiB);
    row(`drover, 16 connections (median of ${list(drSlow16)})`, med(drSlow16), slowMiB);
    if (ariaSlow.length) {
      const a = med(ariaSlow).seconds;
      process.stdout.write(`ratio rate-limited: aria2c/drover time ${fmt(a / med(drSlow).seconds, 2)}x (target ≥ 1.20x); at 16 connections each ${fmt(a / med(drSlow16).seconds, 2)}x\n`);
    }
  } finally {
    await api.close();
    await worker.stop();
    await server.stop();
    await paced.stop();
    await nginx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
