import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer, stderrBeyondNoWorker, writeConfig } from '../support/drover.js';
import { makeFile, startNginx } from '../support/nginx.js';
import { tempDir, waitFor } from '../support/tmp.js';

const MiB = 1024 * 1024;

interface JobJson {
  job: { id: string; state: string; attempt: number; owner: string; error: string | null; progress: { bytes?: number; total?: number } | null; result: { path: string; size: number; sha256: string } | null };
}

async function show(url: string, id: string): Promise<JobJson> {
  return (await (await fetch(`${url}/api/v1/jobs/${id}`)).json()) as JobJson;
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

describe('download jobs across real processes', () => {
  it('resumes a 256 MiB download after its worker is killed with SIGKILL: right checksum, little sent twice', async () => {
    const dir = tempDir();
    const files = path.join(dir, 'www');
    fs.mkdirSync(files);
    makeFile(path.join(files, 'day.mp4'), 256 * MiB);
    const want = await sha256(path.join(files, 'day.mp4'));
    // 8 MiB per request at 4 MiB/s after nginx's first second: slow enough to kill half-way.
    const nginx = await startNginx(files, { limitRate: '4m' });
    writeConfig(
      dir,
      `server:
  lease_ttl: 2s
  heartbeat_interval: 300ms
worker:
  destinations: { archive: ${JSON.stringify(path.join(dir, 'archive'))} }
  download: { tempdir: ${JSON.stringify(path.join(dir, 'dl-tmp'))}, min_split: ${8 * MiB}, connections: 8 }
`,
    );
    const srv = await startServer(dir);
    const w1 = spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir });
    const add = await runDrover(['add', 'download', `${nginx.url}/slow/day.mp4`, '--dest', 'archive:videos/2026', '--owner', 'alice', '--sha256', want, '--server', srv.url], { cwd: dir });
    expect(stderrBeyondNoWorker(add.stderr)).toBe('');
    const id = add.stdout.split(' ')[0] as string;

    // Live progress shows in `drover jobs --owner alice --state running`.
    await waitFor(async () => ((await show(srv.url, id)).job.progress?.bytes ?? 0) > 48 * MiB, 30_000, 'a good part downloaded');
    const listing = await runDrover(['jobs', '--owner', 'alice', '--state', 'running', '--server', srv.url], { cwd: dir });
    expect(listing.stdout).toMatch(new RegExp(`${id}\\s+running\\s+download\\s+alice.*MiB/256\\.0 MiB`));
    w1.proc.kill('SIGKILL');
    await w1.exited;
    const before = (await show(srv.url, id)).job.progress?.bytes ?? 0;

    spawnDrover(['worker', '--server', srv.url, '--name', 'w2'], { cwd: dir });
    const done = await waitFor(async () => {
      const j = await show(srv.url, id);
      if (j.job.state === 'failed') throw new Error(`failed: ${j.job.error}`);
      return j.job.state === 'succeeded' ? j : null;
    }, 120_000, 'the download to finish on w2');
    expect(done.job.attempt).toBe(2);
    const out = path.join(dir, 'archive', 'videos', '2026', 'day.mp4');
    expect(done.job.result).toMatchObject({ path: out, size: 256 * MiB, sha256: want });
    expect(await sha256(out)).toBe(want);
    // Nothing left behind in the temp dir.
    expect(fs.readdirSync(path.join(dir, 'dl-tmp'))).toEqual([]);
    // The second worker went on from the partial file: the server sent the file once, plus at
    // most one split (8 MiB) per connection (8) that was in flight when the first worker died.
    await waitFor(() => nginx.sent().filter((e) => e.uri === '/slow/day.mp4').length > 8, 5_000, 'nginx to log');
    const sent = nginx.sent().filter((e) => e.uri === '/slow/day.mp4').reduce((n, e) => n + e.bytes, 0);
    expect(before).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(256 * MiB + 8 * 8 * MiB);

    // `drover show` gives the final path, size and checksum.
    const shown = await runDrover(['show', id, '--server', srv.url], { cwd: dir });
    expect(shown.stdout).toContain(out);
    expect(shown.stdout).toContain(want);
  });

  it('shows a download\'s progress within seconds, not only at the next heartbeat (10 s by default)', async () => {
    const dir = tempDir();
    const files = path.join(dir, 'www');
    fs.mkdirSync(files);
    makeFile(path.join(files, 'cam.mp4'), 64 * MiB);
    const nginx = await startNginx(files, { limitRate: '1m' });
    writeConfig(dir, `worker:\n  destinations: { archive: ${JSON.stringify(path.join(dir, 'archive'))} }\n  download: { tempdir: ${JSON.stringify(path.join(dir, 'dl-tmp'))}, connections: 1 }\n`);
    const srv = await startServer(dir);
    spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir });
    const add = await runDrover(['add', 'download', `${nginx.url}/slow/cam.mp4`, '--dest', 'archive', '--server', srv.url], { cwd: dir });
    const id = add.stdout.split(' ')[0] as string;
    const t0 = Date.now();
    await waitFor(async () => ((await show(srv.url, id)).job.progress?.bytes ?? 0) > 0, 20_000, 'progress on the coordinator');
    // The first heartbeat comes 10 s after the worker starts; progress must not wait for it.
    expect(Date.now() - t0).toBeLessThan(6_000);
    await runDrover(['cancel', id, '--server', srv.url], { cwd: dir });
  });

  it('imports a CSV with a url column and downloads every row for its owner', async () => {
    const dir = tempDir();
    const files = path.join(dir, 'www');
    fs.mkdirSync(files);
    makeFile(path.join(files, 'a.mp4'), 3 * MiB);
    makeFile(path.join(files, 'b.mp4'), 5 * MiB);
    const nginx = await startNginx(files);
    writeConfig(dir, `worker:\n  destinations: { archive: ${JSON.stringify(path.join(dir, 'archive'))} }\n  download: { tempdir: ${JSON.stringify(path.join(dir, 'tmp'))} }\n`);
    fs.writeFileSync(path.join(dir, 'links.csv'), `url\n${nginx.url}/files/a.mp4\n${nginx.url}/files/b.mp4\n`);
    const srv = await startServer(dir);
    spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir });
    const imp = await runDrover(['import', 'links.csv', '--kind', 'download', '--dest', 'archive:in', '--owner', 'bob', '--server', srv.url], { cwd: dir });
    expect(stderrBeyondNoWorker(imp.stderr)).toBe('');
    expect(imp.stdout).toMatch(/created 2 jobs/);
    const waited = await runDrover(['wait', '--owner', 'bob', '--server', srv.url], { cwd: dir, timeoutMs: 60_000 });
    expect(waited.code).toBe(0);
    for (const name of ['a.mp4', 'b.mp4']) expect(await sha256(path.join(dir, 'archive', 'in', name))).toBe(await sha256(path.join(files, name)));
    const listed = await runDrover(['jobs', '--owner', 'bob', '--state', 'succeeded', '--server', srv.url], { cwd: dir });
    const [counts, header, ...rows] = listed.stdout.trim().split('\n');
    expect(counts).toBe('succeeded 2');
    expect(header).toMatch(/^ID\s+STATE/);
    expect(rows).toHaveLength(2);
  });

  it('refuses bad download jobs at enqueue, naming the field', async () => {
    const dir = tempDir();
    writeConfig(dir, '');
    const srv = await startServer(dir);
    const bad = await runDrover(['add', 'download', 'ftp://example.com/x', '--dest', 'archive', '--server', srv.url], { cwd: dir });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/params\.url: only http and https are supported, not ftp/);
    const escape = await runDrover(['add', 'download', 'http://example.com/x', '--dest', 'archive:../etc', '--server', srv.url], { cwd: dir });
    expect(escape.stderr).toMatch(/params\.dest: .*no "\.\."/);
    const jobs = await runDrover(['jobs', '--json', '--server', srv.url], { cwd: dir });
    expect(jobs.stdout).toBe('');
    // Without --dest, the worker's `default` destination (./downloads unless its config names others).
    const noDest = await runDrover(['add', 'download', 'http://example.com/x', '--server', srv.url], { cwd: dir });
    expect(noDest.code).toBe(0);
    expect(noDest.stdout).toMatch(/^\S+ queued\n$/);
  });
});
