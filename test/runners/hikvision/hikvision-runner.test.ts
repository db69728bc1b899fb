import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeasedJob } from '../../../src/core/job.js';
import { HikvisionRunner } from '../../../src/runners/hikvision/hikvision-runner.js';
import { HIKVISION_DEFAULTS } from '../../../src/runners/hikvision/settings.js';
import { filesBelow } from '../../segments/tree-fixture.js';
import type { ClipQuirk, SimClip } from '../../support/isapi-sim.js';
import { at, run, utc } from './harness.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the hikvision kind against a simulated NVR', () => {
  it("delivers every clip of the cameras byte-exact by camera, through the device's quirks, and a second run fetches nothing", async () => {
    const clips = [...[0, 1, 2, 3, 4].map((i) => at('101', `2021-08-18T0${i}:00:00Z`)), ...[0, 1, 2].map((i) => at('201', `2021-08-18T0${i}:30:00Z`))];
    const quirks = new Map<number, ClipQuirk>([[1, 'http500'], [2, 'short-then-full'], [3, 'drop-reset'], [6, 'xml200']]);
    const { sim, archive, go, progress, logs, delivered } = await run({ cameras: '1,2', start: '2021-08-18T00:00:00', end: '2021-08-18T23:59:59' }, clips, { quirks, pageCap: 3, trackElement: 'trackList', ns: 'ver10' });
    const r = await go();
    expect(r.outcome, r.error).toBe('succeeded');
    // The job's log names each clip tried again, and why.
    expect(logs.filter((l) => / try 2 of 4\n$/.test(l))).toHaveLength(quirks.size);
    const want = clips.map((c) => `${c.track}/${c.start.replace(/\D/g, '').slice(0, 14)}-${c.track}.mp4`).sort();
    expect(filesBelow(archive).every((f) => f.startsWith('127.0.0.1_'))).toBe(true);
    expect(delivered()).toEqual(want);
    for (const c of clips) expect(fs.readFileSync(path.join(archive, new URL(sim.url).host.replace(':', '_'), c.track, `${c.start.replace(/\D/g, '').slice(0, 14)}-${c.track}.mp4`)).equals(c.data)).toBe(true);
    const result = r.result as { files: Array<{ file: string; sha256: string; size: number }>; failed: unknown[] };
    expect(result.files.map((f) => f.file.split('/').slice(1).join('/')).sort()).toEqual(want);
    expect(result.files.every((f) => f.sha256 === sha(clips.find((c) => f.file.endsWith(`${c.track}/${c.start.replace(/\D/g, '').slice(0, 14)}-${c.track}.mp4`))!.data))).toBe(true);
    expect(progress.at(-1)).toMatchObject({ percent: 100, clipsDone: 8, clipsTotal: 8 });

    const downloads = () => sim.requests.filter((q) => q.path === '/ISAPI/ContentMgmt/download').length;
    const before = downloads();
    const again = await go();
    expect(again.outcome).toBe('succeeded');
    expect(downloads()).toBe(before);
    expect((again.result as { files: Array<{ skipped?: boolean }> }).files.every((f) => f.skipped)).toBe(true);
    expect(logs.at(-1)).toMatch(/: 8 clips already delivered/);
    // A file shorter than the clip is no copy of it: fetched again, whole.
    const first = clips[0] as SimClip;
    const short = path.join(archive, new URL(sim.url).host.replace(':', '_'), '101', `${first.start.replace(/\D/g, '').slice(0, 14)}-101.mp4`);
    fs.truncateSync(short, 100);
    expect((await go()).outcome).toBe('succeeded');
    expect(fs.readFileSync(short).equals(first.data)).toBe(true);
    expect(downloads()).toBeGreaterThan(before);
  });

  it('fails without retries naming a camera the device neither lists nor recorded; an OEM clone, which lists none, is not refused', async () => {
    const clips = [at('101', '2021-08-18T01:00:00Z'), at('201', '2021-08-18T02:00:00Z')];
    const span = { start: '2021-08-18T00:00:00', end: '2021-08-18T23:59:59' };
    const { go, delivered } = await run({ cameras: '101,301', ...span }, clips);
    const r = await go();
    expect(r.outcome).toBe('failed');
    expect(r.retryable).toBe(false);
    expect(r.error).toMatch(/no camera 301 on this device \(its cameras: 101, 201\)/);
    expect(delivered()).toEqual([]);
    const oem = await run({ cameras: '101,301', ...span }, clips, { channelsInvalid: true });
    const o = await oem.go();
    expect(o.outcome, o.error).toBe('succeeded');
    expect(oem.delivered()).toEqual(['101/20210818010000-101.mp4']);
  });

  it('keeps two clips at once through nonces rotated without a word, with no nonce count used twice', async () => {
    const clips = [0, 1, 2, 3, 4, 5].map((i) => at('101', `2021-08-18T0${i}:00:00Z`));
    const { go, delivered, sim } = await run({ cameras: '101', start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00' }, clips, { rotateEvery: 3, bytesPerSecond: 400_000 });
    const r = await go();
    expect(r.outcome, r.error).toBe('succeeded');
    expect(delivered()).toHaveLength(6);
    // Rotated several times, and per_device (2) downloads at once.
    expect(sim.requests.filter((q) => q.status === 401).length).toBeGreaterThan(3);
    expect(sim.peakDownloads()).toBe(2);
  });

  it('stops every clip on a cancel, keeping what was delivered and no part file; a local failure stops the other lanes too', async () => {
    const clips = [0, 1, 2, 3, 4, 5].map((i) => at('101', `2021-08-18T0${i}:00:00Z`));
    const slow = await run({ cameras: '101', start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00' }, clips, { bytesPerSecond: 200_000 });
    const r = await slow.go({}, new AbortController());
    expect(r.outcome).toBe('canceled');
    const kept = (r.result as { files: Array<{ file: string }> }).files;
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(6);
    // Only whole clips, each one the result names.
    expect(filesBelow(slow.archive).sort()).toEqual(kept.map((f) => f.file).sort());

    const local = await run({ cameras: '101', start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00' }, clips, { bytesPerSecond: 400_000 });
    // A directory where the second clip belongs.
    fs.mkdirSync(path.join(local.archive, new URL(local.sim.url).host.replace(':', '_'), '101', '20210818010000-101.mp4'), { recursive: true });
    const failed = await local.go();
    expect(failed).toMatchObject({ outcome: 'failed', retryable: true, error: expect.stringMatching(/cannot write into the destination: .*(EISDIR|directory)/) });
    const left = filesBelow(local.archive);
    expect(left.every((f) => f.endsWith('.mp4'))).toBe(true);
    // Nothing goes on after the job ended: what is there stays so.
    const downloads = local.sim.requests.filter((q) => q.path === '/ISAPI/ContentMgmt/download').length;
    await local.sim.close();
    expect(local.sim.requests.filter((q) => q.path === '/ISAPI/ContentMgmt/download').length).toBe(downloads);
    expect(filesBelow(local.archive)).toEqual(left);
  });

  it('fetches the cameras\' pictures too with photos=true (track 103 for 101), as .jpg', async () => {
    const clips = [at('101', '2021-08-18T01:00:00Z'), { ...at('103', '2021-08-18T01:02:03Z', 0), data: Buffer.from('\xff\xd8 a picture') }, { ...at('103', '2021-08-18T01:05:00Z', 0), data: Buffer.from('\xff\xd8 another') }];
    const { go, delivered, sim } = await run({ cameras: '101', photos: true, start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00' }, clips);
    const r = await go();
    expect(r.outcome, r.error).toBe('succeeded');
    expect(delivered()).toEqual(['101/20210818010000-101.mp4', '103/20210818010203-103.jpg', '103/20210818010500-103.jpg']);
    expect(sim.requests.filter((q) => q.path.startsWith('/ISAPI/Streaming/tracks/103/') && q.status === 200)).toHaveLength(2);
  });

  it("searches the device's own day (UTC+3: never a local time sent as UTC), and leaves a clip still being recorded", async () => {
    const now = Date.now();
    // The last one ended a minute ago: within the margin (2 min), still maybe being written.
    const clips = [at('101', '2021-08-17T20:00:00Z'), at('101', '2021-08-17T21:30:00Z'), at('101', '2021-08-18T20:50:00Z'), at('101', '2021-08-18T22:00:00Z'), at('101', utc(new Date(now - 11 * 60_000).toISOString()))];
    const { go, delivered } = await run({ cameras: '101', start: '2021-08-18', end: '2021-08-18T23:59:59', layout: 'oneperday', name: '{start}-{end}.mp4' }, clips, { offsetMin: 180, timeWithOffset: false });
    const r = await go();
    expect(r.outcome, r.error).toBe('succeeded');
    // Local 2021-08-18: 00:30 (21:30Z the day before) and 23:50 (20:50Z); not 23:00 on the 17th, nor 01:00 on the 19th.
    expect(delivered()).toEqual(['101/2021-08-18/20210818003000-20210818004000.mp4', '101/2021-08-18/20210818235000-20210819000000.mp4']);
    const today = await go({ start: undefined as never, end: undefined as never, days: 1, layout: 'flat' });
    // The clip that ended a minute ago is left for the next run.
    expect(today.outcome, today.error).toBe('succeeded');
    expect((today.result as { left: number; files: unknown[] }).left).toBe(1);
  });

  it('fails at once on a wrong password, tells an OEM clone to give cameras, and fails naming the clips it could not get while delivering the rest', async () => {
    const clips = [at('101', '2021-08-18T01:00:00Z'), at('101', '2021-08-18T02:00:00Z')];
    const wrong = await run({ cameras: '101', start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00', password: 'nope' }, clips);
    expect(await wrong.go()).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringMatching(/the device refused user "admin" \(wrong user or password\)$/) });
    expect(filesBelow(wrong.archive)).toEqual([]);
    const clone = await run({ start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00' }, clips, { channelsInvalid: true });
    expect(await clone.go()).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringContaining('the device will not list its channels (Invalid Operation); give cameras, e.g. cameras=101,201') });
    const busy = await run({ cameras: '101', start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00' }, clips, { quirks: new Map([[0, 'xml200']]) });
    const runner = new HikvisionRunner({ ...HIKVISION_DEFAULTS, retries: 0, destinations: new Map([['archive', busy.archive]]) });
    const r = await runner.run({ job: { id: 'j', kind: 'hikvision', template: null, params: { server: busy.sim.url, user: 'admin', password: 'secret', dest: 'archive', cameras: '101', start: '2021-08-18T00:00:00', end: '2021-08-18T23:00:00' }, attempt: 1 } as unknown as LeasedJob, template: null, signal: new AbortController().signal, progress: () => undefined, log: () => undefined, outputRoot: busy.archive, logDir: busy.archive });
    expect(r).toMatchObject({ outcome: 'failed', retryable: true, error: expect.stringMatching(/1 of 2 clips failed \(127\.0\.0\.1_\d+\/101\/20210818010000-101\.mp4\); the others were delivered$/) });
    expect(busy.delivered()).toEqual(['101/20210818020000-101.mp4']);
  });
});
