import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { BATCH_HEADER, BATCH_MAX, BATCH_TYPE, FrameDecoder } from '../../src/segments/batch.js';
import { contentHash, parseSegmentName, tombstoneOf } from '../../src/segments/segment-name.js';
import { startSegmentServer } from '../../src/segments/server.js';
import { runDrover, spawnDrover } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';
import { writeSegment } from './tree-fixture.js';

const HOUR = '2019-11-13T02';

/** A tree with two qualities, a tombstoned segment, a temp segment, a hidden file and a chat file. */
function tree() {
  const base = tempDir('drover-segtree-');
  const a = writeSegment(base, 'desertbus', 'source', HOUR, '45:51.608000', 'segment a');
  const b = writeSegment(base, 'desertbus', 'source', HOUR, '10:00.000000', 'segment b, a longer one');
  const gone = writeSegment(base, 'desertbus', 'source', HOUR, '20:00.000000', 'deleted one');
  fs.writeFileSync(path.join(base, 'desertbus/source', HOUR, tombstoneOf(gone)), '');
  const temp = `30:00.000000-2.0-temp-${'0f'.repeat(8)}-aaaa-bbbb-cccc-dddddddddddd.ts`;
  fs.writeFileSync(path.join(base, 'desertbus/source', HOUR, temp), 'half');
  fs.writeFileSync(path.join(base, 'desertbus/source', HOUR, '.hidden.ts'), 'no');
  fs.writeFileSync(path.join(base, 'desertbus/source', HOUR, '50:00.000000-chat.json'), '[]');
  writeSegment(base, 'desertbus', '480p', '2019-11-13T01', '00:00.000000', 'low');
  fs.mkdirSync(path.join(base, '.private'));
  return { base, a, b, gone, temp };
}

/** A GET exactly as given: fetch would resolve `%2e%2e` and add Cache-Control: no-cache to a conditional request. */
function rawGet(url: string, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    http.get({ host: u.hostname, port: u.port, path: u.pathname.replace(/\/$/, '') + p, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function serve(base: string, extra: Partial<Parameters<typeof startSegmentServer>[0]> = {}) {
  const srv = await startSegmentServer({ dir: base, port: 0, logger: silentLogger(), ...extra });
  onCleanup(() => srv.close());
  return srv;
}

describe("the segment server (wubloader's restreamer routes)", () => {
  it('lists channels, qualities, hours and segments as sorted JSON, tombstones on request, [] for what does not exist', async () => {
    const t = tree();
    const srv = await serve(t.base);
    const get = async (p: string) => {
      const r = await fetch(srv.url + p);
      return { status: r.status, type: r.headers.get('content-type'), body: r.status === 200 ? ((await r.json()) as string[]) : await r.text() };
    };
    expect(await get('/files')).toEqual({ status: 200, type: 'application/json; charset=utf-8', body: ['desertbus'] });
    expect((await get('/files/desertbus')).body).toEqual(['480p', 'source']);
    expect((await get('/files/desertbus/source')).body).toEqual([HOUR]);
    // Not the tombstoned one, not the temp one, not the hidden one; chat files as the restreamer lists them.
    expect((await get(`/files/desertbus/source/${HOUR}`)).body).toEqual([t.b, t.a, '50:00.000000-chat.json'].sort());
    expect((await get(`/files/desertbus/source/${HOUR}?tombstones=true`)).body).toEqual([t.b, tombstoneOf(t.gone), t.a, '50:00.000000-chat.json'].sort());
    expect((await get(`/files/desertbus/source/${HOUR}?tombstones=FALSE`)).status).toBe(200);
    expect((await get(`/files/desertbus/source/${HOUR}?tombstones=true&tombstones=false`)).status).toBe(400);
    expect(await get(`/files/desertbus/source/${HOUR}?tombstones=yes`)).toEqual({ status: 400, type: expect.stringContaining('text/plain'), body: 'tombstones must be one of: true, false' });
    expect((await get('/files/nosuch/source/2020-01-01T00')).body).toEqual([]);
    expect((await get('/files/nosuch')).body).toEqual([]);
    for (const p of ['/files/.private', '/files/desertbus/.x', `/files/desertbus/source/..`, '/files/%2e%2e/source', `/segments/desertbus/source/${HOUR}/.hidden.ts`]) {
      expect((await rawGet(srv.url, p)).status, p).toBe(403);
    }
    expect(await rawGet(srv.url, '/files/desertbus/%2Fetc')).toEqual({ status: 403, body: 'Bad quality: May not hold a separator or control character' });
    // An empty part (a trailing slash) is not found, as on the restreamer.
    for (const p of ['/files/', '/files/desertbus/', `/files/desertbus/source/`, `/segments/desertbus/source/${HOUR}/`]) expect((await rawGet(srv.url, p)).status, p).toBe(404);
  });

  it('serves a segment byte for byte with ETag, Last-Modified and Range; not one with a tombstone, nor a temp or unknown one', async () => {
    const t = tree();
    const srv = await serve(t.base);
    const url = `${srv.url}/segments/desertbus/source/${HOUR}/${t.b}`;
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    const bytes = Buffer.from(await whole.arrayBuffer());
    expect(contentHash(bytes)).toBe(parseSegmentName(t.b)?.hash);
    const etag = whole.headers.get('etag') as string;
    expect(etag).toBeTruthy();
    expect(whole.headers.get('last-modified')).toBeTruthy();
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const part = await fetch(url, { headers: { range: 'bytes=8-' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('segment b, a longer one'.slice(8));
    expect((await rawGet(url, '', { 'if-none-match': etag })).status).toBe(304);
    // A tombstone is served as the restreamer serves it: an empty file.
    const tomb = await fetch(`${srv.url}/segments/desertbus/source/${HOUR}/${tombstoneOf(t.gone)}`);
    expect([tomb.status, await tomb.text()]).toEqual([200, '']);
    for (const name of [t.gone, t.temp, 'nosuch.ts', tombstoneOf(t.a), '00:00.000000-2.0-full-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ts']) {
      expect((await fetch(`${srv.url}/segments/desertbus/source/${HOUR}/${encodeURIComponent(name)}`)).status, name).toBe(404);
    }
  });

  it("answers a batch of an hour's segments (Drover's extension, advertised on its hour listings) in the order asked", async () => {
    const t = tree();
    // Larger than what is read whole: streamed in its frame.
    const big = writeSegment(t.base, 'desertbus', 'source', HOUR, '59:00.000000', crypto.randomBytes(9 * 1024 * 1024));
    const srv = await serve(t.base);
    const listing = await fetch(`${srv.url}/files/desertbus/source/${HOUR}`);
    expect(listing.headers.get(BATCH_HEADER)).toBe(String(BATCH_MAX));
    const names = [t.b, t.gone, big, t.temp, 'nosuch.ts', t.a];
    const post = (body: unknown, p = `/segments/desertbus/source/${HOUR}`) => fetch(`${srv.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const res = await post(names);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(BATCH_TYPE);
    const got: Array<[string, string | null]> = [];
    const frames = new FrameDecoder(names, 16 * 1024 * 1024, {
      segment: (name, data) => got.push([name, contentHash(data)]),
      absent: (name) => got.push([name, null]),
    });
    frames.push(Buffer.from(await res.arrayBuffer()));
    frames.end();
    const hashOf = (n: string) => parseSegmentName(n)?.hash ?? 'no hash';
    expect(got).toEqual([[t.b, hashOf(t.b)], [t.gone, null], [big, hashOf(big)], [t.temp, null], ['nosuch.ts', null], [t.a, hashOf(t.a)]]);

    expect((await post(['../../etc/passwd'])).status).toBe(400);
    expect(await (await post([t.a, 7])).text()).toBe('names[1] is not a segment name');
    expect((await post({ names })).status).toBe(400);
    expect((await post(Array.from({ length: BATCH_MAX + 1 }, () => t.a))).status).toBe(400);
    expect((await post([t.a], `/segments/desertbus/.private/${HOUR}`)).status).toBe(403);
  });

  it('answers many requests on one keep-alive connection', async () => {
    const t = tree();
    const srv = await serve(t.base);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    const sockets = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        http.get(`${srv.url}/segments/desertbus/source/${HOUR}/${t.a}`, { agent }, (res) => {
          sockets.add(res.socket);
          let s = '';
          res.on('data', (d: Buffer) => (s += d.toString()));
          res.on('end', () => resolve(s));
        }).on('error', reject);
      });
      expect(body).toBe('segment a');
    }
    expect(sockets.size).toBe(1);
  });

  it('needs a token beyond loopback, as a bearer token or the password of basic auth (what a wubloader node URL http://user:TOKEN@host carries)', async () => {
    const t = tree();
    await expect(startSegmentServer({ dir: t.base, host: '0.0.0.0', port: 0, logger: silentLogger() })).rejects.toThrow(/refusing to serve segments on 0\.0\.0\.0 without tokens: give --token-file FILE/);
    const srv = await serve(t.base, { host: '0.0.0.0', tokens: { admin: null, worker: 'segment-token' } });
    const url = srv.url.replace('0.0.0.0', '127.0.0.1') + '/files';
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer segment-token' } })).status).toBe(200);
    expect((await fetch(url, { headers: { authorization: `Basic ${Buffer.from('node1:segment-token').toString('base64')}` } })).status).toBe(200);
    const batch = (headers: Record<string, string>) => fetch(srv.url.replace('0.0.0.0', '127.0.0.1') + `/segments/desertbus/source/${HOUR}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify([t.a]) });
    expect((await batch({})).status).toBe(401);
    expect((await batch({ authorization: 'Bearer segment-token' })).status).toBe(200);
    // A preflight needs no token; CORS headers go only where anyone may read (the restreamer's, on a public server).
    const preflight = await fetch(url, { method: 'OPTIONS' });
    expect([preflight.status, preflight.headers.get('allow'), preflight.headers.get('access-control-allow-origin')]).toEqual([200, 'HEAD, OPTIONS, GET', null]);
    const open = await serve(t.base, { host: '0.0.0.0', public: true });
    const anyone = await fetch(open.url.replace('0.0.0.0', '127.0.0.1') + '/files');
    expect(anyone.status).toBe(200);
    expect(Object.fromEntries([...anyone.headers].filter(([k]) => k.startsWith('access-control-')))).toEqual({
      'access-control-allow-credentials': 'false',
      'access-control-allow-headers': '*',
      'access-control-allow-methods': 'GET,POST,HEAD',
      'access-control-allow-origin': '*',
      'access-control-max-age': '86400',
    });
    expect((await fetch(`${srv.url.replace('0.0.0.0', '127.0.0.1')}/files`, { headers: { authorization: 'Bearer segment-token' } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('drover segments serve DIR: a missing dir is an error; the server answers once it says where', async () => {
    const t = tree();
    const cwd = tempDir('drover-segcli-');
    const missing = await runDrover(['segments', 'serve', path.join(cwd, 'nope')], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: no such directory/);
    const p = spawnDrover(['segments', 'serve', t.base, '--port', '0'], { cwd, env: { DROVER_LOG_FORMAT: 'human' } });
    const url = await waitFor(() => /serving segments of \S+ on (http:\/\/[^\s"]+)/.exec(p.output())?.[1], 60_000, 'the segment server');
    expect(await (await fetch(`${url}/files/desertbus`)).json()).toEqual(['480p', 'source']);
    // Its process's figures, as the restreamer has a /metrics.
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^process_cpu_seconds_total \d/m);
    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
