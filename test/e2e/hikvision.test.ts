import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer, stderrBeyondNoWorker, writeConfig } from '../support/drover.js';
import { startIsapiSim, type SimClip } from '../support/isapi-sim.js';
import { filesBelow } from '../segments/tree-fixture.js';
import { onCleanup, tempDir } from '../support/tmp.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the hikvision kind end to end (the task server\'s spreadsheet, natively)', () => {
  it('imports the sheet of 3 NVRs x 2 cameras, delivers every clip once into each NVR\'s folders on two workers, and never shows a password', async () => {
    const dir = tempDir('drover-hik-');
    const archive = path.join(dir, 'archive');
    writeConfig(dir, `server:\n  lease_ttl: 3s\n  heartbeat_interval: 500ms\nworker:\n  destinations: { archive: ${JSON.stringify(archive)} }\n  hikvision: { backoff: 50ms }\n`);
    const srv = await startServer(dir);
    const workers = ['w1', 'w2'].map((name) => spawnDrover(['worker', '--server', srv.url, '--concurrency', '2', '--name', name], { cwd: dir }));

    const nvrs = await Promise.all(
      [0, 1, 2].map(async (n) => {
        const clips: SimClip[] = ['101', '201'].flatMap((track) =>
          [0, 1, 2].map((i) => ({ track, start: `2021-08-18T0${i}:${track === '101' ? '00' : '05'}:00Z`, end: `2021-08-18T0${i}:${track === '101' ? '10' : '15'}:00Z`, data: randomBytes(40_000 + n * 100 + i) })),
        );
        const password = `Nvr-${n}-S3cret!`;
        const sim = await startIsapiSim(clips, { password, pageCap: 2, ...(n === 1 ? { ns: 'ver10' as const, trackElement: 'trackList' as const } : {}), ...(n === 2 ? { offsetMin: 0, staleEvery: 3 } : {}) });
        onCleanup(() => sim.close());
        return { sim, clips, password, folder: new URL(sim.url).host.replace(':', '_') };
      }),
    );
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('tasks');
    ws.addRow(['user', 'password', 'server', 'cameras']);
    for (const n of nvrs) ws.addRow(['admin', n.password, new URL(n.sim.url).host, '101,201']);
    const sheet = path.join(dir, 'cameras.xlsx');
    await wb.xlsx.writeFile(sheet);

    const imp = await runDrover(['import', sheet, '--kind', 'hikvision', '--dest', 'archive:nvr', '--param', 'start=2021-08-18T00:00:00', '--param', 'end=2021-08-18T23:59:59', '--server', srv.url], { cwd: dir });
    expect(stderrBeyondNoWorker(imp.stderr)).toBe('');
    expect(imp.stdout).toMatch(/created 3 jobs/);
    const wait = await runDrover(['wait', '--server', srv.url, '--interval', '200'], { cwd: dir, timeoutMs: 120_000 });
    expect(wait.code, wait.stdout + wait.stderr).toBe(0);

    const want = nvrs.flatMap((n) => n.clips.map((c) => `nvr/${n.folder}/${c.track}/${c.start.replace(/\D/g, '').slice(0, 14)}-${c.track}.mp4`)).sort();
    expect(filesBelow(archive)).toEqual(want);
    for (const n of nvrs) {
      for (const c of n.clips) expect(sha(fs.readFileSync(path.join(archive, 'nvr', n.folder, c.track, `${c.start.replace(/\D/g, '').slice(0, 14)}-${c.track}.mp4`)))).toBe(sha(c.data));
      // Each clip fetched once: one authorised download per clip.
      expect(n.sim.requests.filter((r) => r.path === '/ISAPI/ContentMgmt/download' && r.status === 200)).toHaveLength(6);
    }

    const list = await runDrover(['jobs', '--json', '--all', '--server', srv.url], { cwd: dir });
    const jobs = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; state: string; attempts?: unknown; concurrencyKey: string | null });
    expect(jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // One NVR is never hit by two jobs: each job is keyed by its server.
    expect(jobs.map((j) => j.concurrencyKey).sort()).toEqual(nvrs.map((n) => new URL(n.sim.url).host).sort());
    // One job by hand, as the README adds it: --dest works for the kind too.
    const one = nvrs[0]!;
    const add = await runDrover(['add', 'hikvision', '--param', `server=${new URL(one.sim.url).host}`, '--param', 'user=admin', '--param', `password=${one.password}`, '--param', 'cameras=101', '--param', 'start=2021-08-18', '--param', 'end=2021-08-18', '--dest', 'archive:single', '--wait', '--server', srv.url], { cwd: dir, timeoutMs: 60_000 });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(filesBelow(path.join(archive, 'single'))).toEqual(one.clips.filter((c) => c.track === '101').map((c) => `${one.folder}/101/${c.start.replace(/\D/g, '').slice(0, 14)}-101.mp4`).sort());
    const seen = (text: string) => nvrs.some((n) => text.includes(n.password));
    const show = await runDrover(['show', jobs[0]!.id, '--server', srv.url], { cwd: dir });
    const logs = await runDrover(['logs', jobs[0]!.id, '--server', srv.url], { cwd: dir });
    expect(show.stdout).toMatch(/password=\*\*\*/);
    expect(logs.stdout).toMatch(/searching tracks 101,201 from 2021-08-18T00:00:00Z to 2021-08-18T23:59:59Z/);
    const api = await (await fetch(`${srv.url}/api/v1/jobs?limit=100`)).text();
    for (const text of [list.stdout, show.stdout, logs.stdout, add.stdout, add.stderr, api, ...workers.map((w) => w.output())]) expect(seen(text)).toBe(false);
  });
});
