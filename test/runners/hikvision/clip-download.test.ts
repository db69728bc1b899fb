import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipError, downloadClip } from '../../../src/runners/hikvision/clip-download.js';
import { IsapiAuthError, IsapiClient } from '../../../src/runners/hikvision/isapi-client.js';
import { startIsapiSim, type ClipQuirk, type SimClip } from '../../support/isapi-sim.js';
import { onCleanup, tempDir } from '../../support/tmp.js';

const clip = (i: number): SimClip => ({ track: '101', start: `2021-08-18T0${i}:00:00Z`, end: `2021-08-18T0${i}:10:00Z`, data: randomBytes(300_000 + i) });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function nvr(clips: SimClip[], quirks: Map<number, ClipQuirk>, password = 'secret') {
  const sim = await startIsapiSim(clips, { quirks });
  onCleanup(() => sim.close());
  const client = new IsapiClient({ server: sim.url, user: 'admin', password, connectTimeoutMs: 5_000, readTimeoutMs: 5_000 });
  onCleanup(() => client.close());
  return { sim, client };
}

describe('a clip from a simulated NVR', () => {
  it('arrives byte-exact through a 500, XML in a 200, a clip still being written, and connections closed or reset mid-clip', async () => {
    const clips = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(clip);
    const quirks = new Map<number, ClipQuirk>([[1, 'http500'], [2, 'xml200'], [3, 'short-then-full'], [4, 'drop-clean'], [5, 'drop-reset'], [6, 'empty200'], [7, 'part206'], [8, 'xml-as-video']]);
    const { sim, client } = await nvr(clips, quirks);
    const matches = await client.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
    expect(matches).toHaveLength(9);
    const dir = tempDir('drover-clips-');
    for (const [i, m] of matches.entries()) {
      const target = path.join(dir, `${i}.mp4`);
      const got = await downloadClip(client, m, target, { backoffMs: 10 });
      expect(fs.readFileSync(target).equals((clips[i] as SimClip).data), `clip ${i}`).toBe(true);
      expect(got).toEqual({ size: (clips[i] as SimClip).data.length, sha256: sha((clips[i] as SimClip).data) });
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['0.mp4', '1.mp4', '2.mp4', '3.mp4', '4.mp4', '5.mp4', '6.mp4', '7.mp4', '8.mp4']);
    // Clips cut off were resumed where their part ended.
    expect(sim.requests.filter((r) => r.path === '/ISAPI/ContentMgmt/download' && r.status === 206).length).toBeGreaterThanOrEqual(2);
  });

  it('takes a slow device as it comes, and gives up on one that goes quiet mid-clip, keeping no file', async () => {
    const c = clip(0);
    const slow = await startIsapiSim([c], { bytesPerSecond: 400_000 });
    onCleanup(() => slow.close());
    const client = new IsapiClient({ server: slow.url, user: 'admin', password: 'secret', connectTimeoutMs: 5_000, readTimeoutMs: 5_000 });
    onCleanup(() => client.close());
    const [m] = await client.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
    const dir = tempDir('drover-clips-');
    await downloadClip(client, m!, path.join(dir, 'slow.mp4'));
    expect(fs.readFileSync(path.join(dir, 'slow.mp4')).equals(c.data)).toBe(true);

    // Paused 50 ms between chunks, with a read timeout of 200 ms: fine, until it stalls for good.
    const stall = await startIsapiSim([c], { bytesPerSecond: 40_000, stallAfter: 6_000 });
    onCleanup(() => stall.close());
    const impatient = new IsapiClient({ server: stall.url, user: 'admin', password: 'secret', connectTimeoutMs: 5_000, readTimeoutMs: 200 });
    onCleanup(() => impatient.close());
    const [s] = await impatient.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
    const err = await downloadClip(impatient, s!, path.join(dir, 'stalled.mp4'), { retries: 1, backoffMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClipError);
    expect((err as Error).message).toMatch(/: 127\.0\.0\.1:\d+: no answer within 0\.2 s \(after 2 tries\)$/);
    expect(fs.readdirSync(dir)).toEqual(['slow.mp4']);

    // A device trickling bytes (never quiet for long) meets the clip's deadline: 10 ms plus its size at 1 MB/s.
    const trickle = await startIsapiSim([c], { bytesPerSecond: 20_000 });
    onCleanup(() => trickle.close());
    const patient = new IsapiClient({ server: trickle.url, user: 'admin', password: 'secret', connectTimeoutMs: 5_000, readTimeoutMs: 5_000 });
    onCleanup(() => patient.close());
    const [t] = await patient.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
    await expect(downloadClip(patient, t!, path.join(dir, 'trickled.mp4'), { retries: 0, deadline: { slackMs: 10, minBytesPerSec: 1_000_000 } })).rejects.toThrow(/not whole within 0\.3 s \(its 300000 bytes at under 1000000 bytes\/s\) \(after 1 tries\)$/);
    expect(fs.readdirSync(dir)).toEqual(['slow.mp4']);
  });

  it('delivers nothing when the device keeps refusing, naming what it said; a wrong password is not retried', async () => {
    const { client } = await nvr([clip(0), clip(1)], new Map([[0, 'xml200'], [1, 'http500']]));
    const [busy, broken] = await client.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
    const dir = tempDir('drover-clips-');
    const xml = await downloadClip(client, busy!, path.join(dir, 'a.mp4'), { retries: 0 }).catch((e: unknown) => e);
    expect(xml).toBeInstanceOf(ClipError);
    expect((xml as Error).message).toMatch(/: HTTP 200 with application\/xml: Device Busy \(deviceBusy\) \(after 1 tries\)$/);
    await expect(downloadClip(client, broken!, path.join(dir, 'b.mp4'), { retries: 0 })).rejects.toThrow(/HTTP 500 Internal Server Error \(after 1 tries\)$/);
    const { client: liar } = await nvr([clip(0)], new Map([[0, 'xml-as-video']]));
    const [labelled] = await liar.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
    await expect(downloadClip(liar, labelled!, path.join(dir, 'x.mp4'), { retries: 0 })).rejects.toThrow(/the device sent XML or HTML where the clip belongs: Device Busy \(deviceBusy\) \(after 1 tries\)$/);
    expect(fs.readdirSync(dir)).toEqual([]);

    const { client: wrong, sim } = await nvr([clip(0)], new Map(), 'nope');
    const right = new IsapiClient({ server: sim.url, user: 'admin', password: 'secret', connectTimeoutMs: 5_000, readTimeoutMs: 5_000 });
    onCleanup(() => right.close());
    const good = await right.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
    const before = sim.requests.length;
    await expect(downloadClip(wrong, good[0]!, path.join(dir, 'c.mp4'), { backoffMs: 10 })).rejects.toBeInstanceOf(IsapiAuthError);
    expect(sim.requests.length - before).toBe(2);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
