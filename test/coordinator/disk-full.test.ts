import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir, waitFor } from '../support/tmp.js';

const MiB = 1024 * 1024;
/** A small filesystem of its own takes root (mount); CI runs as root. */
const ROOT = process.getuid?.() === 0;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A tmpfs of `mib` MiB, unmounted after the test. */
function smallDisk(mib: number): string {
  const dir = path.join(tempDir('drover-disk-'), 'mnt');
  fs.mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir]);
  cleanups.push(() => execFileSync('umount', ['-l', dir]));
  return dir;
}

const freeOn = (dir: string) => {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
};

/** Fills `dir` with a file that leaves about `leave` bytes free. */
function fill(dir: string, name: string, leave: number): string {
  const file = path.join(dir, name);
  const size = Math.max(0, freeOn(dir) - leave);
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(MiB, 1);
  for (let n = 0; n < size; n += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - n));
  fs.closeSync(fd);
  return file;
}

async function coordinator(dataDir: string, diskReserveMb: number): Promise<RunningServer> {
  const srv = await startServer({ port: 0, dataDir, tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), diskReserveMb });
  cleanups.push(() => srv.close());
  return srv;
}

const enqueue = (srv: RunningServer, n: number, tag: string) =>
  fetch(`${srv.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs: Array.from({ length: n }, (_, i) => ({ kind: 'noop', tags: [tag], params: { echo: `${tag} ${i} ${'x'.repeat(1000)}` } })) }) });
const counted = async (srv: RunningServer, tag: string) => ((await (await fetch(`${srv.url}/api/v1/jobs/counts?tag=${tag}`)).json()) as { counts: Record<string, number> }).counts.queued;

describe.runIf(ROOT)("the coordinator's disk full (a small tmpfs)", () => {
  it('refuses new jobs under the reserve with 507 naming it, says so in /healthz and /metrics, and takes them again once there is room', async () => {
    const dir = smallDisk(24);
    const srv = await coordinator(dir, 4);
    expect((await enqueue(srv, 10, 'before')).status).toBe(201);
    const filler = fill(dir, 'filler', 3 * MiB);
    // Free space is read at most once a second: jobs may go in until it is read again.
    await waitFor(async () => (await enqueue(srv, 1, 'probe')).status === 507, 30_000, 'enqueues refused under the reserve');
    const refused = await enqueue(srv, 1, 'refused');
    expect(await refused.json()).toMatchObject({ error: { code: 'storage_full', message: expect.stringMatching(new RegExp(`^refusing new jobs: [\\d.]+ MiB free on ${dir}, under the 4\\.0 MiB kept in reserve \\(server\\.disk_reserve_mb\\)`)) } });
    const health = await fetch(`${srv.url}/healthz`);
    expect(health.status).toBe(507);
    expect(await health.json()).toMatchObject({ error: { code: 'storage_full', message: expect.stringMatching(new RegExp(`^storage low: [\\d.]+ MiB free on ${dir}, under the reserve of 4\\.0 MiB`)) } });
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    expect(metrics).toMatch(/^drover_storage_reserve_bytes 4194304$/m);
    expect(Number(/^drover_storage_free_bytes (\d+)$/m.exec(metrics)?.[1])).toBeLessThan(4 * MiB);
    fs.rmSync(filler);
    await waitFor(async () => (await fetch(`${srv.url}/healthz`)).status === 200, 30_000, '/healthz healthy again');
    expect((await enqueue(srv, 10, 'after')).status).toBe(201);
    expect([await counted(srv, 'before'), await counted(srv, 'refused'), await counted(srv, 'after')]).toEqual([10, 0, 10]);
  });

  it('answers a write that finds the disk full 507 naming SQLITE_FULL, loses nothing acknowledged, and recovers when 2 MiB are freed', async () => {
    const dir = smallDisk(24);
    // No reserve: the writes themselves meet the full disk.
    const srv = await coordinator(dir, 0);
    expect((await enqueue(srv, 200, 'kept')).status).toBe(201);
    const big = fill(dir, 'filler', 2 * MiB);
    const two = fill(dir, 'two-mib', 0);
    expect(fs.statSync(big).size).toBeGreaterThan(0);
    // A batch of about 2 MB does not fit.
    const full = await enqueue(srv, 2_000, 'lost');
    expect(full.status).toBe(507);
    expect(await full.json()).toMatchObject({ error: { code: 'storage_full', message: expect.stringMatching(/^the coordinator's storage is full \(SQLITE_FULL: database or disk is full\): nothing of this request was stored; free space on /) } });
    expect(await counted(srv, 'kept')).toBe(200);
    expect(await counted(srv, 'lost')).toBe(0);
    fs.rmSync(two);
    expect((await enqueue(srv, 100, 'again')).status).toBe(201);
    expect([await counted(srv, 'kept'), await counted(srv, 'again')]).toEqual([200, 100]);
    const ro = new Database(path.join(dir, 'drover.db'), { readonly: true });
    cleanups.push(() => ro.close());
    expect(ro.pragma('integrity_check', { simple: true })).toBe('ok');
  });
});
