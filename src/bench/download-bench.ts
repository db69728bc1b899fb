import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../client/api-client.js';
import { startDrover } from './drover-procs.js';
import { makeFile, startNginx } from './nginx.js';
import { fmt } from './stats.js';

const MiB = 1024 * 1024;
const TICK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout.trim()) || 100;
})();

interface Run {
  seconds: number;
  /** CPU seconds of the downloading process (user + system). */
  cpu: number;
}

/** CPU seconds of a live process, from /proc. */
function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
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

/**
 * `npm run bench -- --suite download`: a 1 GiB file at full speed next to curl (and aria2c), and
 * 256 MiB from a path nginx rate-limits (20 MB/s per request) next to `aria2c -x16 -s16 -k1M`,
 * all from one loopback nginx in one run. Drover is a coordinator and a worker process; its time
 * runs from the job's enqueue to its success, its CPU is the worker process's.
 */
export async function downloadSuite(o: { bigMiB?: number; slowMiB?: number } = {}): Promise<void> {
  const have = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
  for (const bin of ['curl', 'aria2c']) if (!have(bin)) process.stdout.write(`download: ${bin} not found (apt-get install -y curl aria2); its rows are skipped\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-dlbench-'));
  const www = path.join(dir, 'www');
  const out = path.join(dir, 'out');
  fs.mkdirSync(www);
  fs.mkdirSync(out);
  const bigMiB = o.bigMiB ?? 1024;
  const slowMiB = o.slowMiB ?? 256;
  makeFile(path.join(www, 'big.bin'), bigMiB * MiB);
  if (slowMiB !== bigMiB) makeFile(path.join(www, 'slow.bin'), slowMiB * MiB);
  const nginx = await startNginx(www, { limitRate: '20m' });
  fs.writeFileSync(path.join(dir, 'drover.yaml'), `worker:\n  destinations: { out: ${JSON.stringify(out)} }\n  download: { tempdir: ${JSON.stringify(path.join(dir, 'tmp'))} }\n`);
  const server = await startDrover(['server', '--port', '0', '--data', path.join(dir, 'data')], dir, /coordinator on (http:\/\/\S+)/);
  const url = server.match[1] as string;
  const worker = await startDrover(['worker', '--server', url, '--name', 'bench', '--concurrency', '4'], dir, /pulling from/);
  const api = new ApiClient({ servers: url });
  const clean = () => {
    for (const f of fs.readdirSync(out)) fs.rmSync(path.join(out, f), { force: true });
  };
  const drover = async (file: string, connections: number | null): Promise<Run> => {
    clean();
    const params: Record<string, unknown> = { url: `${nginx.url}/${file}`, dest: 'out', collision: 'overwrite' };
    if (connections !== null) params.connections = connections;
    const cpu0 = cpuOf(worker.child.pid as number);
    const t0 = performance.now();
    const { jobs } = await api.post<{ jobs: Array<{ id: string }> }>('/api/v1/jobs', { kind: 'download', params });
    for (;;) {
      const { job } = await api.get<{ job: { state: string; error: string | null } }>(`/api/v1/jobs/${jobs[0]!.id}`);
      if (job.state === 'succeeded') break;
      if (job.state !== 'running' && job.state !== 'queued') throw new Error(`drover download ${job.state}: ${job.error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { seconds: (performance.now() - t0) / 1000, cpu: cpuOf(worker.child.pid as number) - cpu0 };
  };
  const row = (name: string, r: Run, mib: number) =>
    process.stdout.write(`${name.padEnd(40)} ${fmt(r.seconds, 2).padStart(6)} s  ${fmt(mib / r.seconds).padStart(5)} MiB/s  cpu ${fmt(r.cpu, 2)} s\n`);
  try {
    process.stdout.write(`download benchmark: ${bigMiB} MiB unthrottled, ${slowMiB} MiB at 20 MB/s per request, loopback nginx, ${os.availableParallelism()} cores\n`);
    // Warm the page cache with the source files, so the first tool measured is not the one that pays for it.
    await timed(['curl', '-s', '-o', '/dev/null', `${nginx.url}/files/big.bin`], dir).catch(() => null);
    clean();
    const curlBig = have('curl') ? await timed(['curl', '-s', '-f', '-o', path.join(out, 'big.bin'), `${nginx.url}/files/big.bin`], dir) : null;
    if (curlBig) row('curl', curlBig, bigMiB);
    clean();
    const ariaBig = have('aria2c') ? await timed(['aria2c', '-q', '--allow-overwrite=true', '-d', out, '-o', 'big.bin', `${nginx.url}/files/big.bin`], dir) : null;
    if (ariaBig) row('aria2c', ariaBig, bigMiB);
    const drBig = await drover('files/big.bin', null);
    row('drover (default: 8 connections)', drBig, bigMiB);
    if (curlBig) process.stdout.write(`ratio unthrottled: curl/drover time ${fmt(curlBig.seconds / drBig.seconds, 2)}x (target ≥ 1.00x); drover/curl cpu ${fmt(drBig.cpu / curlBig.cpu, 2)}x (target ≤ 1.50x)\n`);

    const slowFile = slowMiB === bigMiB ? 'big.bin' : 'slow.bin';
    clean();
    const ariaSlow = have('aria2c') ? await timed(['aria2c', '-q', '-x16', '-s16', '-k1M', '--allow-overwrite=true', '-d', out, '-o', 'slow.bin', `${nginx.url}/slow/${slowFile}`], dir) : null;
    if (ariaSlow) row('aria2c -x16 -s16 -k1M (rate-limited)', ariaSlow, slowMiB);
    clean();
    const curlSlow = have('curl') ? await timed(['curl', '-s', '-f', '-o', path.join(out, 'slow.bin'), `${nginx.url}/slow/${slowFile}`], dir) : null;
    if (curlSlow) row('curl (rate-limited)', curlSlow, slowMiB);
    const drSlow = await drover(`slow/${slowFile}`, 16);
    row('drover 16 connections (rate-limited)', drSlow, slowMiB);
    if (ariaSlow) process.stdout.write(`ratio rate-limited: aria2c/drover time ${fmt(ariaSlow.seconds / drSlow.seconds, 2)}x (target ≥ 1.20x)\n`);
  } finally {
    await api.close();
    await worker.stop();
    await server.stop();
    await nginx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
