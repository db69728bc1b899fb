import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateCatalog } from '../../src/coordinator/templates.js';
import { resolveNewJob } from '../../src/coordinator/resolve-job.js';
import { redactJob, type Job, type LeasedJob, type Params } from '../../src/core/job.js';
import { DownloadRunner } from '../../src/runners/download/download-runner.js';
import { downloadSecretsOf, parseDownloadParams } from '../../src/runners/download/params.js';
import { DOWNLOAD_DEFAULTS, type DownloadSettings } from '../../src/runners/download/settings.js';
import type { RunResult } from '../../src/runners/runner.js';
import { handlerServer } from '../support/http-server.js';
import { tempDir } from '../support/tmp.js';

// Query tokens, symbolic links in destinations, redirect schemes and over-long paths: the
// download kind's safety rules, each against a real HTTP server on a real socket.

function settings(over: Partial<DownloadSettings> = {}): DownloadSettings & { root: string } {
  const root = tempDir('drover-dls-');
  return { ...DOWNLOAD_DEFAULTS, destinations: new Map([['archive', path.join(root, 'archive')]]), tempDir: path.join(root, 'tmp'), retries: 1, ...over, root };
}

let jobNo = 0;
function run(runner: DownloadRunner, params: Params, id = `dls${++jobNo}`): { done: Promise<RunResult>; logs: string[] } {
  const logs: string[] = [];
  const job: LeasedJob = {
    id, queue: 'default', kind: 'download', template: null, params, secrets: [], owner: null, tags: [], priority: 0,
    attempt: 1, maxAttempts: 3, timeLimitMs: null, createdAt: Date.now(), lease: { worker: 'w', token: 't', expiresAt: Date.now() + 60_000 },
  };
  const done = runner.run({ job, template: null, signal: new AbortController().signal, outputRoot: '/nonexistent', logDir: '/nonexistent', progress: () => {}, log: (_s, t) => logs.push(t) });
  return { done, logs };
}


const hello = (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { 'content-length': 5 });
  res.end('hello');
};

describe('download: query tokens in URLs', () => {
  const tokened = [
    'https://cdn.example.com/f.mp4?token=TOK123456',
    'https://cdn.example.com/f.mp4?a=1&access_token=TOK123456',
    'https://x.blob.core.windows.net/c/f.mp4?sv=2024&sig=TOK123456',
    'https://b.s3.amazonaws.com/f.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=TOK123456',
  ];

  it('makes such a url secret, as a password in it does, and hides it in the job as shown', () => {
    for (const url of tokened) expect(downloadSecretsOf({ url }), url).toEqual(['url']);
    expect(downloadSecretsOf({ url: 'https://u:pw@cdn.example.com/f' })).toEqual(['url']);
    expect(downloadSecretsOf({ url: 'https://cdn.example.com/f.mp4?v=2&quality=hd' })).toEqual([]);
    // Through the coordinator's own check of a new job: the enqueue answer, list and show redact it.
    const resolved = resolveNewJob({ kind: 'download', params: { url: tokened[0] } }, { templates: new TemplateCatalog(), kinds: new Set(['download']), now: Date.now() });
    expect(resolved.secrets).toContain('url');
    const shown = redactJob({ ...resolved, state: 'queued' } as unknown as Job);
    expect(JSON.stringify(shown)).not.toContain('TOK123456');
  });

  it('never puts the token in result.url, the logs or an error, also after a redirect', async () => {
    let fails = 1;
    const url = await handlerServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/f.bin') {
        res.writeHead(302, { location: '/signed/f.bin?X-Amz-Signature=SIGSECRET99&X-Amz-Expires=60' });
        return res.end();
      }
      if (u.pathname === '/signed/f.bin' && fails-- > 0) {
        res.writeHead(503, { 'retry-after': '0' });
        return res.end();
      }
      if (u.pathname === '/signed/f.bin') return hello(req, res);
      res.writeHead(404);
      res.end();
    });
    const ok = run(new DownloadRunner(settings()), { url: `${url}/f.bin?token=TOKSECRET42`, dest: 'archive' });
    const res = await ok.done;
    expect(res.outcome).toBe('succeeded');
    expect((res.result as { url: string }).url).toBe(`${url}/f.bin?token=***`);
    // The 503 of the signed link was logged before the retry: without its signature.
    expect(ok.logs.join('')).toMatch(/X-Amz-Signature=\*\*\*/);
    expect(JSON.stringify(res) + ok.logs.join('')).not.toMatch(/TOKSECRET42|SIGSECRET99/);

    const missing = run(new DownloadRunner(settings()), { url: `${url}/gone.bin?access_token=TOKSECRET43`, dest: 'archive' });
    const bad = await missing.done;
    expect(bad).toMatchObject({ outcome: 'failed', retryable: false });
    expect(bad.error).toBe(`${url}/gone.bin?access_token=***: HTTP 404`);
  });

  it('keeps no token on disk in a partial download, and resumes it all the same', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    let cut = true;
    const url = await handlerServer((req, res) => {
      const range = /^bytes=(\d+)-/.exec(req.headers.range ?? '');
      const from = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'content-length': body.length - from, etag: '"v1"', 'accept-ranges': 'bytes', ...(range ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}) });
      if (cut) {
        // The first attempt: half the file, then the connection drops.
        cut = false;
        res.write(body.subarray(from, from + body.length / 2), () => res.socket?.destroy());
        return;
      }
      res.end(body.subarray(from));
    });
    const s = settings({ connections: 1, retries: 0 });
    const first = await run(new DownloadRunner(s), { url: `${url}/f.bin?token=TOKSECRET77`, dest: 'archive' }, 'dls-keep').done;
    expect(first).toMatchObject({ outcome: 'failed', retryable: true });
    const kept = fs.readdirSync(path.join(s.tempDir, 'dls-keep')).map((f) => fs.readFileSync(path.join(s.tempDir, 'dls-keep', f)));
    expect(kept.length).toBeGreaterThan(0);
    for (const b of kept) expect(b.includes('TOKSECRET77')).toBe(false);
    const again = run(new DownloadRunner(s), { url: `${url}/f.bin?token=TOKSECRET77`, dest: 'archive' }, 'dls-keep');
    expect(await again.done).toMatchObject({ outcome: 'succeeded' });
    expect(again.logs.join('')).toMatch(/resuming at \d+ of 3145728 bytes/);
  });
});

describe('download: symbolic links inside a destination', () => {
  it('refuses a dest that leaves the destination through a symbolic link, writing nothing outside', async () => {
    const url = await handlerServer(hello);
    const s = settings();
    const archive = s.destinations.get('archive')!;
    const outside = path.join(s.root, 'outside');
    fs.mkdirSync(archive, { recursive: true });
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(archive, 'link'));
    const runner = new DownloadRunner(s);
    for (const dest of ['archive:link/x', 'archive:link']) {
      const res = await run(runner, { url: `${url}/f.bin`, dest }).done;
      expect(res).toEqual({ outcome: 'failed', error: `dest ${dest} leaves the destination archive through a symbolic link`, retryable: false });
    }
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('refuses a link put in place while the file downloads, at delivery', async () => {
    const s = settings();
    const archive = s.destinations.get('archive')!;
    const outside = path.join(s.root, 'outside');
    fs.mkdirSync(outside);
    const url = await handlerServer((req, res) => {
      // The directory the job names turns into a link out while its file is on the way.
      fs.mkdirSync(archive, { recursive: true });
      if (!fs.existsSync(path.join(archive, 'later'))) fs.symlinkSync(outside, path.join(archive, 'later'));
      hello(req, res);
    });
    const res = await run(new DownloadRunner(s), { url: `${url}/f.bin`, dest: 'archive:later/x' }).done;
    expect(res).toEqual({ outcome: 'failed', error: 'dest archive:later/x leaves the destination archive through a symbolic link', retryable: false });
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.readdirSync(s.tempDir)).toEqual([]);
  });

  it('still follows links that stay inside, and a destination that is itself a link', async () => {
    const url = await handlerServer(hello);
    const s = settings();
    const real = path.join(s.root, 'real-archive');
    fs.mkdirSync(path.join(real, 'videos'), { recursive: true });
    const archive = s.destinations.get('archive')!;
    fs.symlinkSync(real, archive);
    fs.symlinkSync('videos', path.join(real, 'latest'));
    const res = await run(new DownloadRunner(s), { url: `${url}/f.bin`, dest: 'archive:latest/2026' }).done;
    expect(res).toMatchObject({ outcome: 'succeeded', result: { path: path.join(archive, 'latest/2026/f.bin') } });
    expect(fs.readFileSync(path.join(real, 'videos/2026/f.bin'), 'utf8')).toBe('hello');
  });

  it('does not write through a symbolic link in the temp dir', async () => {
    const url = await handlerServer(hello);
    const s = settings();
    const victim = path.join(s.root, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    // The partial file of job `planted` is a link to a file of someone else's.
    fs.mkdirSync(path.join(s.tempDir, 'planted'), { recursive: true });
    fs.symlinkSync(victim, path.join(s.tempDir, 'planted', 'data'));
    // And the whole partial directory of job `planted2` is a link out.
    const elsewhere = path.join(s.root, 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.symlinkSync(elsewhere, path.join(s.tempDir, 'planted2'));
    const runner = new DownloadRunner(s);
    const a = await run(runner, { url: `${url}/f.bin`, dest: 'archive' }, 'planted').done;
    expect(a).toMatchObject({ outcome: 'failed', retryable: false });
    expect(a.error).toMatch(/symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    const b = await run(runner, { url: `${url}/f.bin`, dest: 'archive' }, 'planted2').done;
    expect(b).toMatchObject({ outcome: 'failed', retryable: false });
    expect(b.error).toMatch(/symbolic link/);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });
});

describe('download: redirect schemes and invalid URLs', () => {
  it('follows only http and https redirects, failing at once naming the scheme', async () => {
    let asked = 0;
    const url = await handlerServer((req, res) => {
      asked++;
      const to: Record<string, string> = { '/ftp': 'ftp://127.0.0.1:21/x', '/gopher': 'gopher://127.0.0.1:70/x', '/file': 'file:///etc/passwd', '/bad': 'http://[not-an-address/x' };
      res.writeHead(302, { location: to[req.url!] ?? '/' });
      res.end();
    });
    const runner = new DownloadRunner(settings({ retries: 3 }));
    for (const [p, scheme] of [['/ftp', 'ftp'], ['/gopher', 'gopher'], ['/file', 'file']] as const) {
      const res = await run(runner, { url: `${url}${p}`, dest: 'archive' }).done;
      expect(res, p).toEqual({ outcome: 'failed', error: `${url}${p}: HTTP 302 redirects to a ${scheme} URL; only http and https redirects are followed`, retryable: false });
    }
    const bad = await run(runner, { url: `${url}/bad`, dest: 'archive' }).done;
    expect(bad).toEqual({ outcome: 'failed', error: `${url}/bad: HTTP 302 redirects to an invalid URL`, retryable: false });
    // One request each: nothing was retried.
    expect(asked).toBe(4);
  });

  it('refuses a file:// url with a clear error', async () => {
    expect(() => parseDownloadParams({ url: 'file:///etc/passwd' })).toThrow('params.url: only http and https are supported, not file');
    const res = await run(new DownloadRunner(settings()), { url: 'file:///etc/passwd', dest: 'archive' }).done;
    expect(res).toEqual({ outcome: 'failed', error: 'params.url: only http and https are supported, not file', retryable: false });
  });
});

describe('download: over-long paths', () => {
  it('refuses a dest name over 255 bytes or a dest over 4095 at enqueue, naming the part', () => {
    const long = 'a'.repeat(300);
    expect(() => parseDownloadParams({ url: 'http://h/f', dest: `archive:ok/${long}` })).toThrow(/^params\.dest: "a{24}…" is 300 bytes, more than 255 for one name$/);
    const deep = Array.from({ length: 20 }, () => 'b'.repeat(250)).join('/');
    expect(() => parseDownloadParams({ url: 'http://h/f', dest: `archive:${deep}` })).toThrow(/^params\.dest: the path is 5019 bytes, more than 4095$/);
  });

  it('fails with a clear error, not a crash, when the destination path is too long on this worker', async () => {
    const url = await handlerServer(hello);
    const s = settings();
    const archive = s.destinations.get('archive')!;
    // Fine as a dest, but the worker's destination and the file name make it too long.
    const deep = Array.from({ length: 16 }, () => 'c'.repeat(250)).join('/');
    const name = 'n'.repeat(150);
    const res = await run(new DownloadRunner(s), { url: `${url}/f.bin`, dest: `archive:${deep}`, filename: name }).done;
    const full = path.join(archive, deep, name);
    const tooLong = `dest archive:${deep.slice(0, 24)}…: the path ${full.slice(0, 24)}… is ${Buffer.byteLength(full)} bytes, more than 4095`;
    expect(res).toEqual({ outcome: 'failed', error: tooLong, retryable: false });
    // The same name from the server, known only once the file is in: refused at delivery.
    const named = await handlerServer((_req, res) => {
      res.writeHead(200, { 'content-length': 5, 'content-disposition': `attachment; filename="${name}"` });
      res.end('hello');
    });
    const late = await run(new DownloadRunner(s), { url: `${named}/f.bin`, dest: `archive:${deep}` }).done;
    expect(late).toEqual({ outcome: 'failed', error: tooLong, retryable: false });
    expect(fs.readdirSync(s.tempDir)).toEqual([]);
  });
});
