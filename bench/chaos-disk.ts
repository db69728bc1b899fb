import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ApiError } from '../src/client/api-client.js';
import { DroverClient } from '../src/client/drover-client.js';
import { check, freePort, setup, sleep, untilFinal, type Row } from './chaos-ledger.js';
import { startDrover, type Proc } from './drover-procs.js';

const MiB = 2 ** 20;

/** Writes a file into `dir` until about `leave` bytes are free there. */
function ballast(dir: string, leave: number): string {
  const file = path.join(dir, 'ballast');
  const s = fs.statfsSync(dir);
  const size = Math.max(0, s.bavail * s.bsize - leave);
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(MiB, 1);
  try {
    for (let n = 0; n < size; n += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - n));
  } catch {
    // ENOSPC: as full as it gets.
  }
  fs.closeSync(fd);
  return file;
}

/**
 * The coordinator's disk full: its data directory on a tmpfs of `mib` MiB (mount, as root),
 * `server.disk_reserve_mb: 8`, 2 workers running ledger jobs while a client keeps enqueueing.
 * A ballast file leaves 1 MiB free for `seconds`: new jobs are refused (507) while the running
 * ones are leased and reported as usual; then the ballast goes, and new jobs are taken again.
 * Every job acknowledged must run once, and `PRAGMA integrity_check` must say ok.
 */
export async function diskFull(mib: number, seconds: number): Promise<Row> {
  if (process.getuid?.() !== 0) return { scenario: 'disk full', runs: 0, jobs: 0, lost: 0, duplicated: 0, maxRecoveryMs: 0, note: 'skipped: mounting a tmpfs takes root' };
  const { dir, ledger } = setup('disk', 'server:\n  lease_ttl: 10s\n  heartbeat_interval: 1s\n  disk_reserve_mb: 8\n');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', data]);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const procs: Proc[] = [];
  const client = new DroverClient({ server: url, requestTimeoutMs: 5_000 });
  try {
    procs.push(await startDrover(['server', '--port', String(port), '--data', data], dir, /coordinator on (http:\/\/[^\s"]+)/));
    for (const n of ['w1', 'w2']) procs.push(await startDrover(['worker', '--server', url, '--name', n, '--concurrency', '4', '--output-root', path.join(dir, 'out')], dir, /pulling from/));
    const acked: string[] = [];
    let refused = 0;
    let other = '';
    const enqueue = async () => {
      try {
        acked.push(...(await client.enqueueManyIds(Array.from({ length: 20 }, () => ({ template: 'ledger', params: { seconds: '0.2' }, maxAttempts: 10 })))));
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.status === 507) refused++;
        else other ||= err instanceof Error ? err.message : String(err);
        return false;
      }
    };
    for (let i = 0; i < 20; i++) await enqueue();
    const file = ballast(data, MiB);
    for (const end = Date.now() + seconds * 1_000; Date.now() < end; await sleep(200)) await enqueue();
    fs.rmSync(file);
    const freed = Date.now();
    while (!(await enqueue()) && Date.now() - freed < 60_000) await sleep(50);
    const maxRecoveryMs = Date.now() - freed;
    for (let i = 0; i < 20; i++) await enqueue();
    await untilFinal(client, 300_000);
    const r = await check(client, ledger, acked);
    for (const p of procs.splice(0).reverse()) await p.stop();
    const db = new Database(path.join(data, 'drover.db'), { readonly: true });
    const integrity = db.pragma('integrity_check', { simple: true });
    db.close();
    return {
      scenario: `disk full (tmpfs of ${mib} MiB) ${seconds} s`,
      runs: 1,
      jobs: acked.length,
      lost: r.lost + (integrity === 'ok' ? 0 : 1) + (other ? 1 : 0),
      duplicated: r.duplicated,
      maxRecoveryMs,
      note: `${refused} enqueues refused with 507; integrity_check ${String(integrity)}${other ? `; other error: ${other}` : ''}${r.notFinal ? `; ${r.notFinal} not final` : ''}`,
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await client.close();
    execFileSync('umount', ['-l', data]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
