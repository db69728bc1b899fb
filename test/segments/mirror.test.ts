import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { BATCH_HEADER, BATCH_TYPE, frameHeader } from '../../src/segments/batch.js';
import { MirrorMetrics } from '../../src/segments/metrics.js';
import { mirrorPass, type MirrorProgress } from '../../src/segments/mirror.js';
import { contentHash, hourStart, tombstoneOf } from '../../src/segments/segment-name.js';
import { startSegmentServer } from '../../src/segments/server.js';
import { runDrover } from '../support/drover.js';
import { onCleanup, tempDir } from '../support/tmp.js';
import { filesBelow as files, writeSegment } from './tree-fixture.js';

const H1 = '2019-11-13T01';
const H2 = '2019-11-13T02';
const base = { channels: ['desertbus'], qualities: ['source'], backoffMs: 5 };

async function serve(dir: string): Promise<string> {
  const srv = await startSegmentServer({ dir, port: 0, logger: silentLogger() });
  onCleanup(() => srv.close());
  return srv.url;
}

/** A server of our own making: `handle` answers every request. */
async function misbehaving(handle: http.RequestListener): Promise<string> {
  const server = http.createServer(handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

describe("a mirror pass (wubloader's backfiller, fixed)", () => {
  it('fills each gap from the peer that has it, replicates tombstones into hours it lacks, and a second pass fetches nothing', async () => {
    const a = tempDir('drover-peer-a-');
    const b = tempDir('drover-peer-b-');
    const local = tempDir('drover-local-');
    const s1 = writeSegment(a, 'desertbus', 'source', H1, '00:00.000000', 'one');
    const s2 = writeSegment(a, 'desertbus', 'source', H2, '00:00.000000', 'two');
    writeSegment(b, 'desertbus', 'source', H2, '00:00.000000', 'two');
    const s3 = writeSegment(b, 'desertbus', 'source', H2, '00:02.000000', 'three');
    // A deletion on b, in an hour the local tree does not have yet.
    const gone = writeSegment(b, 'desertbus', 'source', '2019-11-13T00', '00:00.000000', 'deleted');
    fs.writeFileSync(path.join(b, 'desertbus/source/2019-11-13T00', tombstoneOf(gone)), '');
    writeSegment(a, 'desertbus', 'source', '2019-11-13T00', '00:00.000000', 'deleted');
    // Deleted here: never fetched again, though both peers lack the tombstone.
    const unwanted = writeSegment(a, 'desertbus', 'source', H1, '00:04.000000', 'unwanted');
    fs.mkdirSync(path.join(local, 'desertbus/source', H1), { recursive: true });
    fs.writeFileSync(path.join(local, 'desertbus/source', H1, tombstoneOf(unwanted)), '');

    const from = [await serve(a), await serve(b)];
    const first = await mirrorPass({ ...base, base: local, from });
    expect(first.ok).toBe(true);
    expect(first.stillMissing).toEqual([]);
    expect(files(local)).toEqual([
      `desertbus/source/2019-11-13T00/${tombstoneOf(gone)}`,
      `desertbus/source/${H1}/${s1}`,
      `desertbus/source/${H1}/${tombstoneOf(unwanted)}`,
      `desertbus/source/${H2}/${s2}`,
      `desertbus/source/${H2}/${s3}`,
    ].sort());
    expect(fs.readFileSync(path.join(local, 'desertbus/source', H2, s3), 'utf8')).toBe('three');
    const fetched = first.peers.reduce((n, p) => n + p.fetched, 0);
    expect(fetched).toBe(3);
    expect(first.peers.reduce((n, p) => n + p.bytes, 0)).toBe('one'.length + 'two'.length + 'three'.length);
    expect(first.peers.reduce((n, p) => n + p.tombstones, 0)).toBe(1);

    const second = await mirrorPass({ ...base, base: local, from });
    expect(second.ok).toBe(true);
    expect(second.peers.map((p) => [p.missing, p.fetched])).toEqual([[0, 0], [0, 0]]);
  });

  it('refuses a corrupt copy and takes the good one from another peer; with no good copy the pass fails naming the segment', async () => {
    const bad = tempDir('drover-peer-bad-');
    const good = tempDir('drover-peer-good-');
    const name = writeSegment(good, 'desertbus', 'source', H2, '00:00.000000', 'the real bytes');
    fs.mkdirSync(path.join(bad, 'desertbus/source', H2), { recursive: true });
    fs.writeFileSync(path.join(bad, 'desertbus/source', H2, name), 'rotten bytes!!');
    const local = tempDir('drover-local-');
    const summary = await mirrorPass({ ...base, base: local, from: [await serve(bad), await serve(good)], order: 'forward' });
    expect(summary.ok).toBe(true);
    expect(fs.readFileSync(path.join(local, 'desertbus/source', H2, name), 'utf8')).toBe('the real bytes');
    expect(summary.peers.reduce((n, p) => n + p.hashMismatches, 0)).toBeLessThanOrEqual(1);

    const alone = tempDir('drover-local-');
    const metrics = new MirrorMetrics();
    const badUrl = await serve(bad);
    const failed = await mirrorPass({ ...base, base: alone, from: [badUrl], metrics });
    expect(await metrics.registry.getSingleMetricAsString('hash_mismatches_total')).toContain(`hash_mismatches_total{remote="${badUrl}"} 1`);
    expect(await metrics.registry.getSingleMetricAsString('segments_backfilled_total')).not.toContain('remote=');
    expect(failed.ok).toBe(false);
    expect(failed.peers[0]?.hashMismatches).toBe(1);
    expect(failed.stillMissing).toEqual([`desertbus/source/${H2}/${name}`]);
    // Neither the bad bytes nor a temp file are left.
    expect(files(alone)).toEqual([]);
  });

  it('goes on with the other peers when one answers 500, one is down and one drops the connection mid-body; a failed fetch leaves no file', async () => {
    const good = tempDir('drover-peer-good-');
    const name = writeSegment(good, 'desertbus', 'source', H2, '00:00.000000', 'x'.repeat(200_000));
    const other = writeSegment(good, 'desertbus', 'source', H2, '00:10.000000', 'y'.repeat(1000));
    const broken = await misbehaving((_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    const down = await misbehaving(() => undefined).then((u) => u.replace(/:\d+$/, ':1'));
    // An answer no retry changes: asked once, then left.
    let lockedAsked = 0;
    const locked = await misbehaving((_req, res) => {
      lockedAsked++;
      res.writeHead(401).end('a token is required');
    });
    // Lists like a restreamer, then cuts every segment off halfway.
    const dropping = await misbehaving((req, res) => {
      if (req.url?.startsWith('/files/desertbus/source/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([name]));
      if (req.url?.startsWith('/files/desertbus/source')) return void res.writeHead(200).end(JSON.stringify([H2]));
      res.writeHead(200, { 'content-length': '200000' });
      res.write('x'.repeat(100_000), () => res.socket?.destroy());
    });
    const local = tempDir('drover-local-');
    const onlyDropping = await mirrorPass({ ...base, base: local, from: [dropping] });
    expect(onlyDropping.ok).toBe(false);
    expect(onlyDropping.peers[0]?.errors.join('\n')).toMatch(/connection reset|other side closed|terminated/i);
    expect(files(local), onlyDropping.peers[0]?.errors.join('\n')).toEqual([]);

    const summary = await mirrorPass({ ...base, base: local, from: [broken, down, dropping, await serve(good), locked], backoffMs: 50 });
    const [b, d, , g, l] = summary.peers;
    expect(lockedAsked).toBe(1);
    expect(l).toMatchObject({ listed: false, left: true, errors: [`${locked}/files/desertbus/source: HTTP 401 a token is required`] });
    expect(b?.listed).toBe(false);
    expect(b?.errors.at(-1)).toMatch(/HTTP 500 boom$/);
    expect(d?.listed).toBe(false);
    expect(d?.errors.at(-1)).toMatch(/connection refused/);
    expect(g?.listed).toBe(true);
    expect(files(local)).toEqual([`desertbus/source/${H2}/${name}`, `desertbus/source/${H2}/${other}`].sort());
    expect(summary.stillMissing).toEqual([]);
    // Not every peer was listed: the pass is not complete.
    expect(summary.ok).toBe(false);
  });

  it('takes batches from a Drover peer and plain GETs from one that does not offer them; a batch cut short or answered wrong keeps what arrived and brings the rest', async () => {
    const peer = tempDir('drover-peer-');
    const names = Array.from({ length: 40 }, (_, i) => writeSegment(peer, 'desertbus', 'source', H2, `${String(i).padStart(2, '0')}:00.000000`, `segment ${i} `.repeat(50)));
    const hourDir = path.join(peer, 'desertbus/source', H2);
    const frame = (n: string) => Buffer.concat([frameHeader(n, fs.statSync(path.join(hourDir, n)).size), fs.readFileSync(path.join(hourDir, n))]);
    const requests: string[] = [];
    let batches = 0;
    const batchSizes: number[] = [];
    /** A restreamer without batches (lists in directory order, as text/html), or with them, whose first batches break. */
    const peerServer = (withBatches: boolean) => misbehaving((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url === '/files/desertbus/source') return void res.writeHead(200, { 'content-type': 'text/html' }).end(JSON.stringify([H2]));
      if (req.url?.startsWith(`/files/desertbus/source/${H2}`)) {
        return void res.writeHead(200, { 'content-type': 'text/html', ...(withBatches ? { [BATCH_HEADER]: '256' } : {}) }).end(JSON.stringify(fs.readdirSync(hourDir)));
      }
      if (req.method === 'GET') return void res.writeHead(200).end(fs.readFileSync(path.join(hourDir, decodeURIComponent(req.url?.split('/').at(-1) ?? ''))));
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const asked = JSON.parse(body) as string[];
        batchSizes.push(asked.length);
        batches++;
        res.writeHead(200, { 'content-type': BATCH_TYPE });
        // The first batch breaks off after two segments; the second names one that was not asked.
        if (batches === 1) return void res.write(Buffer.concat(asked.slice(0, 2).map(frame)), () => res.socket?.destroy());
        if (batches === 2) return void res.end(Buffer.concat([frame(asked[0] as string), frame(names.find((n) => !asked.includes(n)) as string)]));
        res.end(Buffer.concat(asked.map(frame)));
      });
    });

    const plain = tempDir('drover-local-');
    const viaGets = await mirrorPass({ ...base, base: plain, from: [await peerServer(false)], concurrency: 4 });
    expect(viaGets.ok).toBe(true);
    expect(files(plain)).toEqual(names.map((n) => `desertbus/source/${H2}/${n}`).sort());
    expect(requests.filter((r) => r.startsWith('GET /segments/'))).toHaveLength(40);
    expect(requests.some((r) => r.startsWith('POST'))).toBe(false);

    requests.length = 0;
    const local = tempDir('drover-local-');
    const metrics = new MirrorMetrics();
    const batchUrl = await peerServer(true);
    const progress: MirrorProgress[] = [];
    const viaBatches = await mirrorPass({ ...base, base: local, from: [batchUrl], concurrency: 1, metrics, onProgress: (p) => progress.push(p) });
    // Told while the hour's segments arrive, not only once it is done.
    expect(progress.find((p) => p.hoursDone === 0 && p.fetched > 0), JSON.stringify(progress)).toBeDefined();
    expect(progress.at(-1)).toEqual({ hoursDone: 1, hoursTotal: 1, fetched: 40, bytes: fs.readdirSync(hourDir).reduce((n, f) => n + fs.statSync(path.join(hourDir, f)).size, 0) });
    expect(viaBatches.ok, viaBatches.peers[0]?.errors.join('\n')).toBe(true);
    expect(files(local)).toEqual(names.map((n) => `desertbus/source/${H2}/${n}`).sort());
    // Both broken batches were retried (so they are not in the summary's errors, which are what stayed failed).
    expect(viaBatches.peers[0]).toMatchObject({ fetched: 40, hashMismatches: 0, errorCount: 0, left: false });
    expect(await metrics.registry.getSingleMetricAsString('backfill_errors_total')).toContain(`backfill_errors_total{remote="${batchUrl}"} 2`);
    // Each retry asks only for what is still missing.
    expect(batchSizes).toEqual([40, 38, 37]);
    expect(requests.some((r) => r.startsWith('GET /segments/'))).toBe(false);
  });

  it("never writes outside the hour directory for a hostile peer's names, and leaves recent segments to the recorder", async () => {
    const evil = [
      '../../../escaped.ts',
      'sub/dir.ts',
      `00:00.000000-2.0-full-${contentHash(Buffer.from('a'))}/../../x.ts`,
      `00:00.000000-2.0-full-..%2F..%2Fx.ts`,
      `00:00.000000-2.0-full-\u0000${'A'.repeat(42)}.ts`,
      '..',
      `../${tombstoneOf(`00:00.000000-2.0-full-${contentHash(Buffer.from('a'))}.ts`)}`,
    ];
    const hostile = await misbehaving((req, res) => {
      if (req.url === `/files/desertbus/source/${H2}?tombstones=true`) return void res.writeHead(200).end(JSON.stringify(evil));
      if (req.url === '/files/desertbus/source') return void res.writeHead(200).end(JSON.stringify([H2, '../..', '2019-13-45T99']));
      res.writeHead(200).end('pwned');
    });
    const root = tempDir('drover-hostile-');
    const local = path.join(root, 'tree');
    fs.mkdirSync(local);
    const summary = await mirrorPass({ ...base, base: local, from: [hostile] });
    expect(summary.peers[0]?.invalid).toBe(evil.length);
    expect(summary.peers[0]?.hours).toBe(1);
    expect(files(root)).toEqual([]);

    // A segment 60 s old, with the default cut-off of 120 s: not fetched yet; later it is.
    const peer = tempDir('drover-peer-');
    const fresh = writeSegment(peer, 'desertbus', 'source', H2, '30:00.000000', 'live');
    const at = (hourStart(H2) as number) + 30 * 60_000;
    const url = await serve(peer);
    const early = await mirrorPass({ ...base, base: local, from: [url], now: () => at + 60_000 });
    expect(early.peers[0]?.missing).toBe(0);
    const later = await mirrorPass({ ...base, base: local, from: [url], now: () => at + 121_000 });
    expect(later.peers[0]?.fetched).toBe(1);
    expect(files(local)).toEqual([`desertbus/source/${H2}/${fresh}`]);
  });

  it('removes temp segments over an hour old (left by a crash) from the hours it visits, not younger ones', async () => {
    const peer = tempDir('drover-peer-');
    const name = writeSegment(peer, 'desertbus', 'source', H2, '00:00.000000', 'bytes');
    const local = tempDir('drover-local-');
    const dir = path.join(local, 'desertbus/source', H2);
    fs.mkdirSync(dir, { recursive: true });
    const stale = `00:00.000000-2.0-temp-${'1a'.repeat(8)}-aaaa-bbbb-cccc-dddddddddddd.ts`;
    const live = `00:02.000000-2.0-temp-${'2b'.repeat(8)}-aaaa-bbbb-cccc-dddddddddddd.ts`;
    for (const n of [stale, live]) fs.writeFileSync(path.join(dir, n), 'half');
    const now = Date.now();
    fs.utimesSync(path.join(dir, stale), new Date(now - 3_601_000), new Date(now - 3_601_000));
    fs.utimesSync(path.join(dir, live), new Date(now - 3_000_000), new Date(now - 3_000_000));
    const summary = await mirrorPass({ ...base, base: local, from: [await serve(peer)], now: () => now });
    expect(summary).toMatchObject({ ok: true, staleTempsRemoved: 1 });
    expect(files(local)).toEqual([`desertbus/source/${H2}/${live}`, `desertbus/source/${H2}/${name}`].sort());
  });

  it('drover mirror: a summary per peer, exit 1 naming what is missing, --json, and clear errors for bad flags', async () => {
    const peer = tempDir('drover-peer-');
    const name = writeSegment(peer, 'desertbus', 'source', H2, '00:00.000000', 'bytes');
    const url = await serve(peer);
    const cwd = tempDir('drover-mirror-cli-');
    const flags = ['--base', path.join(cwd, 'tree'), '--channels', 'desertbus', '--qualities', 'source', '--backoff', '10ms'];
    const ok = await runDrover(['mirror', '--from', url, ...flags], { cwd });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^PEER\s+LISTED\s+HOURS\s+MISSING\s+FETCHED\s+BYTES\s+HASH MISMATCHES\s+TOMBSTONES\s+ERRORS\n/);
    expect(ok.stdout).toMatch(new RegExp(`${url}\\s+yes\\s+1\\s+1\\s+1\\s+5\\s+0\\s+0\\s+0\\n`));
    expect(ok.stdout).toMatch(/complete: every peer listed, every wanted segment in place\n$/);
    expect(fs.existsSync(path.join(cwd, 'tree/desertbus/source', H2, name))).toBe(true);

    const json = await runDrover(['mirror', '--from', url, ...flags, '--json'], { cwd });
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, stillMissing: [], peers: [{ peer: url, listed: true, missing: 0, fetched: 0 }] });

    const down = await runDrover(['mirror', '--from', 'http://user:sekrit@127.0.0.1:1', ...flags], { cwd });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^drover: http:\/\/127\.0\.0\.1:1: not listed: .*connection refused/m);
    expect(down.stdout + down.stderr).not.toContain('sekrit');

    const bad = await runDrover(['mirror', '--from', url, ...flags, '--hours', 'yesterday'], { cwd });
    expect(bad.stderr).toBe('drover: --hours: "yesterday" is not an hour (expected all, a number, or hours like 2019-11-13T02)\n');
    expect((await runDrover(['mirror', '--from', url, '--base', cwd, '--channels', '../etc', '--qualities', 'source'], { cwd })).stderr).toBe('drover: --channels: "../etc" is not a plain name\n');
    expect((await runDrover(['mirror', ...flags], { cwd })).stderr).toMatch(/^drover: --from: required/);
  });
});
