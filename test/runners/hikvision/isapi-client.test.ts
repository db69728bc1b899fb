import { describe, expect, it } from 'vitest';
import { serverOrigin } from '../../../src/runners/hikvision/device-url.js';
import { IsapiAuthError, IsapiClient } from '../../../src/runners/hikvision/isapi-client.js';
import { deviceOffsetMinutes } from '../../../src/runners/hikvision/device-clock.js';
import { startIsapiSim, type SimClip, type SimOptions } from '../../support/isapi-sim.js';
import { onCleanup } from '../../support/tmp.js';

/** `n` clips of 10 minutes on `track` from `from` (UTC), each a few distinct bytes. */
function clips(track: string, from: string, n: number): SimClip[] {
  const t0 = Date.parse(from);
  return Array.from({ length: n }, (_, i) => ({
    track,
    start: new Date(t0 + i * 600_000).toISOString().replace('.000', ''),
    end: new Date(t0 + (i + 1) * 600_000).toISOString().replace('.000', ''),
    data: Buffer.from(`clip ${track} ${i}`),
  }));
}

async function device(all: SimClip[], o: SimOptions = {}, password = 'secret') {
  const sim = await startIsapiSim(all, o);
  onCleanup(() => sim.close());
  const client = new IsapiClient({ server: sim.url, user: 'admin', password, connectTimeoutMs: 5_000, readTimeoutMs: 5_000 });
  onCleanup(() => client.close());
  return { sim, client };
}

const DAY = clips('101', '2021-08-18T00:00:00Z', 144);

describe('the ISAPI client against a simulated NVR (digest auth, real sockets)', () => {
  it("connects with digest auth, reads the device, its clock and channels, and rides out stale nonces", async () => {
    const { sim, client } = await device([...DAY, ...clips('201', '2021-08-18T00:00:00Z', 3)], { offsetMin: 180, staleEvery: 2 });
    expect(await client.deviceInfo()).toMatchObject({ model: 'DS-SIM-8', serial: 'SIM0001' });
    expect(deviceOffsetMinutes(await client.time(), Date.now())).toBe(180);
    expect(await client.channels()).toEqual(['101', '201']);
    // The first request meets the challenge; later ones carry the digest, a stale nonce costs one more.
    expect(sim.requests.slice(0, 2).map((r) => r.status)).toEqual([401, 200]);
    expect(sim.requests.filter((r) => r.status === 200)).toHaveLength(3);
  });

  it('speaks MD5-sess and SHA-256 where a device asks for them', async () => {
    for (const algorithm of ['MD5-sess', 'SHA-256'] as const) {
      const { client, sim } = await device(DAY, { algorithm, staleEvery: 3 });
      expect(await client.channels(), algorithm).toEqual(['101']);
      expect((await client.search(['101'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z')).length).toBe(144);
      expect(sim.requests.filter((r) => r.status === 200).length).toBeGreaterThan(3);
    }
  });

  it('fails at once naming the device on a wrong password; says what an OEM clone answers for its channels', async () => {
    const { sim, client } = await device(DAY, {}, 'wrong');
    const err = await client.deviceInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IsapiAuthError);
    expect((err as Error).message).toBe(`${new URL(sim.url).host}: the device refused user "admin" (wrong user or password)`);
    expect(sim.requests).toHaveLength(2);
    const clone = await device(DAY, { channelsInvalid: true });
    await expect(clone.client.channels()).rejects.toThrow('the device answered Invalid Operation (invalidOperation)');
  });

  it('finds every clip once: pages by position, one-item pages, ver10 with <trackList> only, a device that ignores the position', async () => {
    // 144 clips on 101 and 30 on 201 in the day; pages of at most 13: the last page holds one.
    const all = [...DAY, ...clips('201', '2021-08-18T06:00:00Z', 30)];
    const want = (tracks: string[], from: string, to: string) => all.filter((c) => tracks.includes(c.track) && c.end > from && c.start < to).map((c) => `${c.track} ${c.start}`).sort();
    const got = (ms: Array<{ trackId: string; start: string }>) => ms.map((m) => `${m.trackId} ${m.start}`).sort();
    for (const o of [{ pageCap: 13 }, { pageCap: 13, ns: 'ver10', trackElement: 'trackList' }, { pageCap: 13, ignorePosition: true }] satisfies SimOptions[]) {
      const { sim, client } = await device(all, o);
      const found = await client.search(['101', '201'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z');
      expect(found.length, JSON.stringify(o)).toBe(174);
      expect(got(found), JSON.stringify(o)).toEqual(want(['101', '201'], '2021-08-18T00:00:00Z', '2021-08-18T23:59:59Z'));
      expect(found.every((m) => m.size !== null && m.fileName !== null)).toBe(true);
      if (o.trackElement === 'trackList') expect(client.ns).toBe('ver10');
      // Bounded: pages, plus the refused dialects while it learns.
      expect(sim.requests.length, JSON.stringify(o)).toBeLessThan(60);
      const window = await client.search(['201'], '2021-08-18T07:00:00Z', '2021-08-18T08:00:00Z');
      expect(got(window)).toEqual(want(['201'], '2021-08-18T07:00:00Z', '2021-08-18T08:00:00Z'));
    }
  });

  it('takes a server as host, host:port or http(s)://host:port, and names what is wrong', () => {
    expect(serverOrigin('10.0.0.5').href).toBe('http://10.0.0.5/');
    expect(serverOrigin('10.0.0.5:8080').href).toBe('http://10.0.0.5:8080/');
    expect(serverOrigin('https://nvr.example').href).toBe('https://nvr.example/');
    expect(() => serverOrigin('ftp://x')).toThrow('server: "ftp://x" is not http or https');
    expect(() => serverOrigin('http://admin:pw@x/ISAPI')).toThrow('must be a host, host:port or http(s)://host:port');
  });
});
