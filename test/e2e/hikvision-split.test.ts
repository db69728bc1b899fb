import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Job } from '../../src/core/job.js';
import { runDrover, spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { startIsapiSim, type SimClip } from '../support/isapi-sim.js';
import { filesBelow } from '../segments/tree-fixture.js';
import { onCleanup, tempDir } from '../support/tmp.js';

describe('a hikvision job split per camera, end to end', () => {
  it("runs one child per camera on two workers; one camera's failure stops no other; a retry of the parent re-runs only the failed child", async () => {
    const dir = tempDir('drover-hik-split-');
    const archive = path.join(dir, 'archive');
    writeConfig(dir, `server:\n  lease_ttl: 3s\n  heartbeat_interval: 500ms\nworker:\n  destinations: { archive: ${JSON.stringify(archive)} }\n  hikvision: { retries: 0, backoff: 50ms }\n`);
    const srv = await startServer(dir);
    for (const name of ['w1', 'w2']) spawnDrover(['worker', '--server', srv.url, '--concurrency', '2', '--name', name], { cwd: dir });

    const clips: SimClip[] = ['101', '201', '301'].flatMap((track) => [1, 2].map((h) => ({ track, start: `2021-08-18T0${h}:00:00Z`, end: `2021-08-18T0${h}:10:00Z`, data: randomBytes(30_000 + h) })));
    // Camera 201's second clip: its disk is failing.
    const broken = new Set([3]);
    const password = 'Split-S3cret!';
    const sim = await startIsapiSim(clips, { password, broken });
    onCleanup(() => sim.close());
    const host = new URL(sim.url).host;
    const folder = host.replace(':', '_');
    const cli = (args: string[]) => runDrover([...args, '--server', srv.url], { cwd: dir, timeoutMs: 120_000 });

    const add = await cli(['add', 'hikvision', '--param', `server=${host}`, '--param', 'user=admin', '--param', `password=${password}`, '--param', 'cameras=all', '--param', 'split=camera', '--param', 'start=2021-08-18', '--param', 'end=2021-08-18', '--dest', 'archive:nvr', '--max-attempts', '1', '--json']);
    expect(add.code, add.stderr).toBe(0);
    const added = JSON.parse(add.stdout) as { jobs?: Job[] } & Job;
    const parentId = added.jobs?.[0]?.id ?? added.id;
    const first = await cli(['wait', '--interval', '200', '--quiet']);
    expect(first.code, first.stdout + first.stderr).toBe(1);

    const kidsOf = async () => (await cli(['jobs', '--parent', parentId, '--json', '--all'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Job);
    const kids = await kidsOf();
    const byCamera = Object.fromEntries(kids.map((k) => [String(k.params.cameras), k]));
    expect(Object.keys(byCamera).sort()).toEqual(['101', '201', '301']);
    expect(Object.fromEntries(kids.map((k) => [k.params.cameras, k.state]))).toEqual({ '101': 'succeeded', '201': 'failed', '301': 'succeeded' });
    // Camera 201's other clip came all the same; so did every clip of the others.
    const want = (tracks: string[]) => clips.filter((c) => tracks.includes(c.track)).map((c) => `nvr/${folder}/${c.track}/${c.start.replace(/\D/g, '').slice(0, 14)}-${c.track}.mp4`).sort();
    expect(filesBelow(archive)).toEqual(want(['101', '301']).concat(`nvr/${folder}/201/20210818010000-201.mp4`).sort());
    const show = await cli(['show', parentId]);
    expect(show.stdout).toMatch(/state:\s+failed/);
    expect(show.stdout).toContain(`1 of 3 children did not succeed: ${byCamera['201']!.id} failed`);
    expect(show.stdout).toMatch(new RegExp(`children:\\n  ${byCamera['101']!.id}  succeeded  hikvision  cameras=101\\n  ${byCamera['201']!.id}  failed  hikvision  cameras=201: ${host}: 1 of 2 clips failed`));

    broken.clear();
    const retry = await cli(['retry', parentId]);
    expect(retry.code, retry.stderr).toBe(0);
    const second = await cli(['wait', '--interval', '200', '--quiet']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect((await cli(['show', parentId, '--json'])).stdout).toMatch(/"state": "succeeded"/);
    const after = Object.fromEntries((await kidsOf()).map((k) => [String(k.params.cameras), k]));
    // Only camera 201 ran again, and fetched only the clip it missed.
    expect([after['101']!.attempt, after['201']!.attempt, after['301']!.attempt]).toEqual([1, 2, 1]);
    expect(filesBelow(archive)).toEqual(want(['101', '201', '301']));
    for (const c of clips) expect(fs.readFileSync(path.join(archive, 'nvr', folder, c.track, `${c.start.replace(/\D/g, '').slice(0, 14)}-${c.track}.mp4`)).equals(c.data)).toBe(true);
    expect(sim.requests.filter((r) => r.path === '/ISAPI/ContentMgmt/download' && r.status === 200)).toHaveLength(clips.length);
    for (const text of [add.stdout, show.stdout, JSON.stringify(await kidsOf())]) expect(text).not.toContain(password);
  });
});
