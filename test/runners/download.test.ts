import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeasedJob, Params, Progress } from '../../src/core/job.js';
import { DownloadRunner, sweepStale } from '../../src/runners/download/download-runner.js';
import { DOWNLOAD_DEFAULTS, type DownloadSettings } from '../../src/runners/download/settings.js';
import type { AbortReason, RunResult } from '../../src/runners/runner.js';
import { handlerServer } from '../support/http-server.js';
import { makeFile, startNginx } from '../support/nginx.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

const MiB = 1024 * 1024;

function settings(over: Partial<DownloadSettings> = {}): DownloadSettings {
  const root = tempDir('drover-dl-');
  return {
    ...DOWNLOAD_DEFAULTS,
    destinations: new Map([['archive', path.join(root, 'archive')]]),
    tempDir: path.join(root, 'tmp'),
    minSplit: MiB,
    ...over,
  };
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

let jobNo = 0;
function run(runner: DownloadRunner, params: Params, o: { id?: string; attempt?: number; maxAttempts?: number; abort?: AbortController } = {}) {
  const progress: Progress[] = [];
  const logs: string[] = [];
  const job: LeasedJob = {
    id: o.id ?? `dl${++jobNo}`, queue: 'default', kind: 'download', template: null, params, secrets: [], owner: null, tags: [], priority: 0,
    attempt: o.attempt ?? 1, maxAttempts: o.maxAttempts ?? 3, timeLimitMs: null, createdAt: Date.now(), lease: { worker: 'w', token: 't', expiresAt: Date.now() + 60_000 },
  };
  const abort = o.abort ?? new AbortController();
  const done: Promise<RunResult> = runner.run({
    job, template: null, signal: abort.signal, outputRoot: '/nonexistent', logDir: '/nonexistent',
    progress: (p) => progress.push(p), log: (_s, t) => logs.push(t),
  });
  return { done, progress, logs, abort, stop: (r: AbortReason) => abort.abort(r) };
}


/** Serves `body` with ranges and an ETag, like a static server. */
function serveRanges(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, etag: string): void {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  res.setHeader('etag', etag);
  res.setHeader('accept-ranges', 'bytes');
  if (!m || (ifRange !== undefined && ifRange !== etag)) {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
    return;
  }
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
  res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${body.length}` });
  res.end(body.subarray(start, end + 1));
}

describe('download runner with a real nginx', () => {
  it('downloads a large file over several connections, verifies it and delivers it atomically', async () => {
    const root = tempDir();
    makeFile(path.join(root, 'clip.mp4'), 24 * MiB);
    const nginx = await startNginx(root);
    const s = settings();
    const r = run(new DownloadRunner(s), { url: `${nginx.url}/files/clip.mp4`, dest: 'archive:videos/2026', sha256: sha256(path.join(root, 'clip.mp4')), connections: 4 });
    const res = await r.done;
    expect(res.outcome).toBe('succeeded');
    const out = path.join(s.destinations.get('archive')!, 'videos/2026/clip.mp4');
    expect(res.result).toMatchObject({ path: out, size: 24 * MiB, sha256: sha256(path.join(root, 'clip.mp4')) });
    expect(sha256(out)).toBe(sha256(path.join(root, 'clip.mp4')));
    // Ranges on several connections, and nothing left in the temp dir.
    const ranged = nginx.sent().filter((e) => e.status === 206);
    expect(ranged.length).toBeGreaterThanOrEqual(4);
    expect(fs.readdirSync(s.tempDir)).toEqual([]);
    // Each byte was sent once.
    expect(nginx.sent().filter((e) => e.uri === '/files/clip.mp4').reduce((n, e) => n + e.bytes, 0)).toBe(24 * MiB);
  });

  it('fails at once on 404, with nothing delivered and the temp dir removed', async () => {
    const nginx = await startNginx(tempDir());
    const s = settings();
    const res = await run(new DownloadRunner(s), { url: `${nginx.url}/files/missing.mp4`, dest: 'archive' }).done;
    expect(res).toMatchObject({ outcome: 'failed', retryable: false });
    expect(res.error).toMatch(/HTTP 404/);
    expect(fs.readdirSync(s.tempDir)).toEqual([]);
  });
});

describe('download runner against a misbehaving server', () => {
  const body = Buffer.from(Array.from({ length: 3 * MiB }, (_, i) => (i * 7) & 255));
  const bodySha = createHash('sha256').update(body).digest('hex');

  it('retries a connection dropped mid-body and goes on from where it stopped', async () => {
    let drops = 1;
    const url = await handlerServer((req, res) => {
      if (drops > 0 && req.headers.range && !req.headers.range.startsWith('bytes=0-')) {
        drops--;
        const start = Number(/bytes=(\d+)/.exec(req.headers.range)![1]);
        res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, etag: '"v1"' });
        res.write(body.subarray(start, start + 1000));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      serveRanges(req, res, body, '"v1"');
    });
    const r = run(new DownloadRunner(settings()), { url: `${url}/f.bin`, dest: 'archive', sha256: bodySha, connections: 2 });
    const res = await r.done;
    expect(res.outcome).toBe('succeeded');
    expect(r.logs.join('')).toMatch(/retrying in/);
  });

  it('keeps the partial file on a time limit and resumes from it on the next attempt', async () => {
    const big = Buffer.from(Array.from({ length: 8 * MiB }, (_, i) => (i * 13 + (i >> 12)) & 255));
    let sent = 0;
    // 2 MB/s per connection, so the attempt can be stopped half-way.
    const url = await handlerServer((req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m ? Math.min(Number(m[2]), big.length - 1) : big.length - 1;
      const head = { etag: '"v1"', 'content-length': end - start + 1 };
      if (m && (req.headers['if-range'] === undefined || req.headers['if-range'] === '"v1"')) res.writeHead(206, { ...head, 'content-range': `bytes ${start}-${end}/${big.length}` });
      else res.writeHead(200, head);
      let pos = start;
      const tick = () => {
        if (res.destroyed || pos > end) return res.end();
        const n = Math.min(64 * 1024, end + 1 - pos);
        sent += n;
        res.write(big.subarray(pos, pos + n));
        pos += n;
        setTimeout(tick, 32);
      };
      tick();
    });
    const runner = new DownloadRunner(settings());
    const params = { url: `${url}/big.bin`, dest: 'archive', connections: 2 };
    const first = run(runner, params, { id: 'resume1' });
    await waitFor(() => first.progress.some((p) => (p.bytes ?? 0) > 3 * MiB), 15_000, 'some bytes');
    first.stop('timed_out');
    const stopped = await first.done;
    expect(stopped.outcome).toBe('timed_out');
    expect(stopped.error).toMatch(/bytes kept for the next attempt/);
    const second = run(runner, params, { id: 'resume1', attempt: 2 });
    const res = await second.done;
    expect(res.outcome).toBe('succeeded');
    expect(second.logs.join('')).toMatch(/resuming at \d+ of 8388608 bytes/);
    expect(fs.readFileSync((res.result as { path: string }).path).equals(big)).toBe(true);
    // What the server sent in all: the file, plus at most one split per connection.
    expect(sent).toBeLessThanOrEqual(8 * MiB + 2 * MiB);
  });

  it('honours 503 with Retry-After', async () => {
    let first = true;
    const url = await handlerServer((req, res) => {
      if (first) {
        first = false;
        res.writeHead(503, { 'retry-after': '1' });
        return res.end('busy');
      }
      serveRanges(req, res, body, '"v1"');
    });
    const t0 = Date.now();
    const r = run(new DownloadRunner(settings()), { url: `${url}/f.bin`, dest: 'archive' });
    const res = await r.done;
    expect(res.outcome).toBe('succeeded');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('starts over when the file changed between attempts (ETag)', async () => {
    let etag = '"v1"';
    let current = body;
    const url = await handlerServer((req, res) => serveRanges(req, res, current, etag));
    const s = settings();
    const runner = new DownloadRunner(s);
    // First attempt stops after the first range; the server's file then changes.
    const first = run(runner, { url: `${url}/f.bin`, dest: 'archive' }, { id: 'etag1' });
    first.stop('timed_out');
    await first.done;
    const changed = Buffer.from(body.map((b) => b ^ 0xff));
    current = changed;
    etag = '"v2"';
    const res = await run(runner, { url: `${url}/f.bin`, dest: 'archive' }, { id: 'etag1', attempt: 2 }).done;
    expect(res.outcome).toBe('succeeded');
    expect(fs.readFileSync((res.result as { path: string }).path).equals(changed)).toBe(true);
  });

  it('starts over when a server that ignores If-Range now serves a file with another ETag', async () => {
    let etag = '"v1"';
    let current = body;
    let slowRest = true;
    // Always 206 for a range, whatever If-Range says; in the first attempt all but the first split lag.
    const url = await handlerServer((req, res) => {
      delete req.headers['if-range'];
      const later = !(req.headers.range ?? '').startsWith('bytes=0-');
      setTimeout(() => serveRanges(req, res, current, etag), slowRest && later ? 3_000 : 0);
    });
    const s = settings();
    const runner = new DownloadRunner(s);
    const first = run(runner, { url: `${url}/f.bin`, dest: 'archive' }, { id: 'ignores-if-range' });
    const table = path.join(s.tempDir, 'ignores-if-range', 'segments');
    // The first split is written and recorded.
    await waitFor(() => fs.existsSync(table) && fs.readFileSync(table).length >= 24 && fs.readFileSync(table).readDoubleLE(16) === MiB, 10_000, 'the first split on disk');
    first.stop('timed_out');
    expect((await first.done).error).toMatch(/1048576 bytes kept/);
    slowRest = false;
    current = Buffer.from(body.map((b) => b ^ 0x0f));
    etag = '"v2"';
    const second = run(runner, { url: `${url}/f.bin`, dest: 'archive' }, { id: 'ignores-if-range', attempt: 2 });
    const res = await second.done;
    expect(second.logs.join('')).toMatch(/file changed/);
    expect(fs.readFileSync((res.result as { path: string }).path).equals(current)).toBe(true);
  });

  it('fails a server that closes before the length it announced, after its retries', async () => {
    const url = await handlerServer((_req, res) => {
      res.writeHead(200, { 'content-length': 10_000 });
      res.write(Buffer.alloc(5_000, 1));
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const res = await run(new DownloadRunner(settings({ retries: 1 })), { url: `${url}/f.bin`, dest: 'archive' }).done;
    expect(res).toMatchObject({ outcome: 'failed', retryable: true });
  });

  it('refuses a checksum mismatch: failed, nothing delivered', async () => {
    const url = await handlerServer((req, res) => serveRanges(req, res, body, '"v1"'));
    const s = settings();
    const res = await run(new DownloadRunner(s), { url: `${url}/f.bin`, dest: 'archive', sha256: '0'.repeat(64) }).done;
    expect(res.outcome).toBe('failed');
    expect(res.error).toMatch(/sha256 mismatch/);
    expect(fs.existsSync(s.destinations.get('archive')!) ? fs.readdirSync(s.destinations.get('archive')!) : []).toEqual([]);
  });

  it('stops a redirect loop', async () => {
    const url = await handlerServer((req, res) => {
      res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' });
      res.end();
    });
    const res = await run(new DownloadRunner(settings()), { url: `${url}/a`, dest: 'archive' }).done;
    expect(res).toMatchObject({ outcome: 'failed', retryable: false });
    expect(res.error).toMatch(/redirect loop/);
  });

  it('sanitises the server\'s file name and renames on collision', async () => {
    const url = await handlerServer((_req, res) => {
      res.writeHead(200, { 'content-length': 5, 'content-disposition': "attachment; filename*=UTF-8''..%2F..%2F.hidden%01name.txt" });
      res.end('hello');
    });
    const s = settings();
    const runner = new DownloadRunner(s);
    const a = await run(runner, { url: `${url}/x`, dest: 'archive' }).done;
    const b = await run(runner, { url: `${url}/x`, dest: 'archive' }).done;
    const dir = s.destinations.get('archive')!;
    expect((a.result as { path: string }).path).toBe(path.join(dir, '_.._.hiddenname.txt'));
    expect((b.result as { path: string }).path).toBe(path.join(dir, '_.._.hiddenname (1).txt'));
  });

  it('keeps to a speed limit', async () => {
    const url = await handlerServer((req, res) => serveRanges(req, res, body, '"v1"'));
    const t0 = Date.now();
    const res = await run(new DownloadRunner(settings({ speedLimit: 2 * MiB })), { url: `${url}/f.bin`, dest: 'archive', connections: 3 }).done;
    expect(res.outcome).toBe('succeeded');
    // 3 MiB at 2 MiB/s, all connections together.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1300);
  });

  it('fails an attempt that stays below the lowest speed, keeping what it got', async () => {
    const url = await handlerServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(Buffer.alloc(1024, 7))), 100);
      res.on('close', () => clearInterval(drip));
    });
    const res = await run(new DownloadRunner(settings({ lowestSpeed: 100_000, lowestSpeedWindowMs: 1_500 })), { url: `${url}/f.bin`, dest: 'archive' }).done;
    expect(res).toMatchObject({ outcome: 'failed', retryable: true });
    expect(res.error).toMatch(/slower than 100000 B\/s for 1.5 s/);
  });

  it('refuses a file larger than max_size before downloading it', async () => {
    const url = await handlerServer((req, res) => serveRanges(req, res, body, '"v1"'));
    const res = await run(new DownloadRunner(settings()), { url: `${url}/f.bin`, dest: 'archive', max_size: 1000 }).done;
    expect(res).toMatchObject({ outcome: 'failed', retryable: false });
    expect(res.error).toMatch(/more than max_size 1000/);
  });

  it('sends basic auth, and not to another origin it is redirected to', async () => {
    let seenElsewhere: string | undefined = 'unset';
    let keyElsewhere: string | string[] | undefined = 'unset';
    const other = await handlerServer((req, res) => {
      seenElsewhere = req.headers.authorization;
      keyElsewhere = req.headers['x-api-key'];
      serveRanges(req, res, body, '"v1"');
    });
    const url = await handlerServer((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
        res.writeHead(401);
        return res.end();
      }
      res.writeHead(302, { location: `${other}/f.bin` });
      res.end();
    });
    const res = await run(new DownloadRunner(settings()), { url: `${url}/f.bin`, dest: 'archive', auth_user: 'alice', auth_password: 's3cret', headers: 'X-Api-Key: k1' }).done;
    expect(res.outcome).toBe('succeeded');
    expect(seenElsewhere).toBeUndefined();
    expect(keyElsewhere).toBeUndefined();
    const denied = await run(new DownloadRunner(settings()), { url: `${url}/f.bin`, dest: 'archive', bearer: 'nope' }).done;
    expect(denied).toMatchObject({ outcome: 'failed', retryable: false });
    expect(denied.error).toMatch(/HTTP 401/);
  });

  it('fails with a clear error when the disk is full, removing the partial file', async (t) => {
    const small = tempDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { stdio: 'ignore' });
    } catch {
      t.skip();
      return;
    }
    onCleanup(() => void execFileSync('umount', ['-l', small]));
    const url = await handlerServer((req, res) => serveRanges(req, res, body, '"v1"'));
    const s = settings({ tempDir: path.join(small, 'tmp') });
    const res = await run(new DownloadRunner(s), { url: `${url}/f.bin`, dest: 'archive' }).done;
    expect(res).toMatchObject({ outcome: 'failed', retryable: false });
    expect(res.error).toMatch(/disk full/);
    expect(fs.readdirSync(s.tempDir)).toEqual([]);
    expect(fs.existsSync(s.destinations.get('archive')!)).toBe(false);
  });

  it('deletes partial downloads nobody touched for temp_keep when the worker starts', () => {
    const tmp = tempDir();
    const week = 7 * 24 * 3600_000;
    const past = new Date(Date.now() - week - 60_000);
    for (const name of ['old', 'fresh', 'not-ours']) {
      fs.mkdirSync(path.join(tmp, name));
      for (const f of name === 'not-ours' ? ['notes.txt'] : ['data', 'segments']) {
        fs.writeFileSync(path.join(tmp, name, f), 'x');
        if (name !== 'fresh') fs.utimesSync(path.join(tmp, name, f), past, past);
      }
      if (name !== 'fresh') fs.utimesSync(path.join(tmp, name), past, past);
    }
    expect(sweepStale(tmp, week)).toEqual(['old']);
    expect(fs.readdirSync(tmp).sort()).toEqual(['fresh', 'not-ours']);
  });

  it('downloads whole a file whose length the server does not tell (chunked, or a range of */*)', async () => {
    const url = await handlerServer((req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (m) {
        const end = Math.min(Number(m[2]), body.length - 1);
        res.writeHead(206, { 'content-range': `bytes ${m[1]}-${end}/*`, 'content-length': end - Number(m[1]) + 1 });
        return res.end(body.subarray(Number(m[1]), end + 1));
      }
      // Chunked, no Content-Length.
      res.writeHead(200);
      res.write(body.subarray(0, MiB));
      setTimeout(() => res.end(body.subarray(MiB)), 20);
    });
    const res = await run(new DownloadRunner(settings()), { url: `${url}/f.bin`, dest: 'archive', sha256: bodySha }).done;
    expect(res).toMatchObject({ outcome: 'succeeded', result: { size: body.length, sha256: bodySha } });
  });

  it('downloads an empty file and a small over-size one without upsetting the worker, and frees their connections', async () => {
    const url = await handlerServer((req, res) => {
      if (req.url === '/empty') {
        if (req.headers.range) {
          res.writeHead(416, { 'content-range': 'bytes */0' });
          return res.end();
        }
        res.writeHead(200, { 'content-length': 0 });
        return res.end();
      }
      serveRanges(req, res, body.subarray(0, 5_000), '"small"');
    });
    const runner = new DownloadRunner(settings({ perHost: 1 }));
    const empty = await run(runner, { url: `${url}/empty`, dest: 'archive' }).done;
    expect(empty).toMatchObject({ outcome: 'succeeded', result: { size: 0 } });
    const big = await run(runner, { url: `${url}/small`, dest: 'archive', max_size: 1000 }).done;
    expect(big).toMatchObject({ outcome: 'failed', retryable: false });
    // With one connection per host, this waits forever if either kept its slot.
    const again = await run(runner, { url: `${url}/small`, dest: 'archive' }).done;
    expect(again).toMatchObject({ outcome: 'succeeded', result: { size: 5_000 } });
  });

  it('starts over instead of resuming when the server gives no validator (no ETag, no Last-Modified)', async () => {
    let current = body;
    const url = await handlerServer((req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) {
        res.writeHead(200, { 'content-length': current.length });
        return res.end(current);
      }
      const end = Math.min(Number(m[2]), current.length - 1);
      res.writeHead(206, { 'content-length': end - Number(m[1]) + 1, 'content-range': `bytes ${m[1]}-${end}/${current.length}` });
      res.end(current.subarray(Number(m[1]), end + 1));
    });
    const runner = new DownloadRunner(settings());
    const first = run(runner, { url: `${url}/f.bin`, dest: 'archive' }, { id: 'noval' });
    first.stop('timed_out');
    await first.done;
    current = Buffer.from(body.map((b) => b ^ 0x55));
    const res = await run(runner, { url: `${url}/f.bin`, dest: 'archive' }, { id: 'noval', attempt: 2 }).done;
    expect(fs.readFileSync((res.result as { path: string }).path).equals(current)).toBe(true);
  });

  it('follows the original URL again when the signed link it was redirected to expires', async () => {
    let token = 0;
    const used = new Set<number>();
    const url = await handlerServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/f.bin') {
        res.writeHead(302, { location: `/signed?t=${++token}` });
        return res.end();
      }
      // Each signed link is good for one request.
      const t = Number(u.searchParams.get('t'));
      if (used.has(t)) {
        res.writeHead(403);
        return res.end();
      }
      used.add(t);
      serveRanges(req, res, body, '"v1"');
    });
    const res = await run(new DownloadRunner(settings()), { url: `${url}/f.bin`, dest: 'archive', sha256: bodySha, connections: 2 }).done;
    expect(res.outcome).toBe('succeeded');
  });

  it('takes user:password in the URL as basic auth, and never shows the password', async () => {
    const url = await handlerServer((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('bob:pa ss').toString('base64')}`) {
        res.writeHead(401);
        return res.end();
      }
      serveRanges(req, res, body, '"v1"');
    });
    const withCreds = url.replace('http://', 'http://bob:pa%20ss@');
    const r = run(new DownloadRunner(settings()), { url: `${withCreds}/f.bin`, dest: 'archive' });
    const res = await r.done;
    expect(res.outcome).toBe('succeeded');
    expect(JSON.stringify(res)).not.toContain('pa%20ss');
    expect(r.logs.join('')).not.toContain('pa%20ss');
  });

  it('fails at once naming an unknown destination', async () => {
    const res = await run(new DownloadRunner(settings()), { url: 'http://127.0.0.1:1/x', dest: 'nosuch:dir' }).done;
    expect(res).toMatchObject({ outcome: 'failed', retryable: false });
    expect(res.error).toMatch(/no destination "nosuch" \(it has: archive\)/);
  });
});
