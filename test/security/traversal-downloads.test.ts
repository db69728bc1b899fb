import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Params } from '../../src/core/job.js';
import { DownloadRunner } from '../../src/runners/download/download-runner.js';
import { DOWNLOAD_DEFAULTS } from '../../src/runners/download/settings.js';
import type { RunResult } from '../../src/runners/runner.js';
import { handlerServer } from '../support/http-server.js';
import { sandbox, show, traversalCorpus } from '../support/traversal-corpus.js';
import { onCleanup, tempDir } from '../support/tmp.js';
import { coordinator, leased, shownPart } from './traversal-kit.js';

// A download's dest and filename params, and the name a server suggests (Content-Disposition,
// plain and RFC 5987, and the URL's last part), each value of the traversal corpus: refused
// naming the field, or the file delivered inside the destination, nothing written elsewhere.

function runner(root: string) {
  const s = { ...DOWNLOAD_DEFAULTS, destinations: new Map([['archive', path.join(root, 'archive')]]), tempDir: path.join(root, 'partial'), retries: 0, connections: 1 };
  const r = new DownloadRunner(s);
  return (params: Params): Promise<RunResult> => r.run({ job: leased(params, { kind: 'download' }), template: null, signal: new AbortController().signal, outputRoot: root, logDir: root, progress: () => {}, log: () => {} });
}

/**
 * A server speaking HTTP/1.1 by hand, so that a header may carry any bytes (Node's own refuses
 * control and non-Latin-1 characters): every request is answered `hello` with the
 * Content-Disposition that `disposition` gives for its path.
 */
async function rawServer(disposition: (path: string) => string): Promise<string> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const target = head.split(' ')[1] ?? '/';
        const cd = Buffer.from(disposition(decodeURIComponent(target.slice(1))), 'utf8');
        sock.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-disposition: '), cd, Buffer.from('\r\n\r\nhello')]));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
}

/** A delivered download: succeeded, its file inside the root, holding what was sent. */
function delivered(box: ReturnType<typeof sandbox>, res: RunResult, what: string): void {
  expect(res.error, what).toBeUndefined();
  expect(res.outcome, what).toBe('succeeded');
  const file = (res.result as { path: string }).path;
  box.inside(file, what);
  expect(path.dirname(fs.realpathSync(file)), what).toBe(fs.realpathSync(path.join(box.root, 'archive')));
  expect(fs.readFileSync(file, 'utf8'), what).toBe('hello');
}

describe('download paths from outside, against the traversal corpus', () => {
  it('dest and filename params: refused at enqueue and on the worker naming the field, or delivered inside the destination', async () => {
    const box = sandbox(tempDir('drover-trav-dl-'));
    const c = await coordinator();
    const url = await handlerServer((_req, res) => res.writeHead(200, { 'content-length': 5 }).end('hello'));
    const run = runner(box.root);
    for (const { label, value } of traversalCorpus(box.outside)) {
      for (const [field, params] of [['filename', { url: `${url}/f.bin`, dest: 'archive', filename: value }], ['dest', { url: `${url}/f.bin`, dest: `archive:${value}` }]] as const) {
        const what = `${field}=${show(value)} (${label})`;
        const at = await c.enqueue({ kind: 'download', params });
        const res = await run(params);
        if (at.status !== 201) {
          expect(at.status, what).toBe(400);
          expect(at.message, what).toMatch(new RegExp(`^params\\.${field}: `));
          if (field === 'filename') expect(at.message, what).toContain(shownPart(value));
          expect(res, what).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringMatching(new RegExp(`^params\\.${field}: `)) });
        } else if (res.outcome === 'succeeded') {
          const file = (res.result as { path: string }).path;
          box.inside(file, what);
          expect(fs.readFileSync(file, 'utf8'), what).toBe('hello');
          // A filename is taken as it is, or not at all.
          if (field === 'filename') expect(path.basename(file), what).toBe(value);
        } else {
          // Taken by the coordinator, which does not know the worker's disk: refused here, naming the dest.
          expect(res, what).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringMatching(/^(params\.dest: |dest archive)/) });
        }
        box.unchanged(what);
      }
    }
  });

  it("the server's Content-Disposition (filename=, filename*=) and the URL's last part: sanitised into a name inside the destination", async () => {
    const box = sandbox(tempDir('drover-trav-cd-'));
    const run = runner(box.root);
    const variants: Array<[string, (v: string) => string]> = [
      ['quoted', (v) => `attachment; filename="${v}"`],
      ['unquoted', (v) => `attachment; filename=${v}`],
      ['RFC 5987', (v) => `attachment; filename*=UTF-8''${encodeURIComponent(v)}`],
      ['RFC 5987 raw', (v) => `attachment; filename*=UTF-8''${v}`],
      ['both', (v) => `attachment; filename="safe.bin"; filename*=UTF-8''${encodeURIComponent(v)}`],
    ];
    const servers = await Promise.all(variants.map(async ([name, cd]) => [name, await rawServer(cd)] as const));
    const plain = await handlerServer((_req, res) => res.writeHead(200, { 'content-length': 5 }).end('hello'));
    for (const { label, value } of traversalCorpus(box.outside)) {
      for (const [name, url] of servers) {
        const what = `Content-Disposition ${name} ${show(value)} (${label})`;
        const res = await run({ url: `${url}/${encodeURIComponent(value)}`, dest: 'archive' });
        // A header the client cannot parse (a raw newline or NUL in it) fails the download, writing nothing.
        if (res.outcome === 'failed' && /[\0\r\n]/.test(value) && name !== 'RFC 5987' && name !== 'both') expect(res.error, what).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
        else delivered(box, res, what);
        box.unchanged(what);
      }
      if (value === '' || value === '.' || value === '..') continue; // the URL's own path then
      const what = `URL ${show(value)} (${label})`;
      delivered(box, await run({ url: `${plain}/d/${encodeURIComponent(value)}`, dest: 'archive' }), what);
      box.unchanged(what);
    }
  });

  it('a symbolic link in the destination pointing outside is never written through', async () => {
    const box = sandbox(tempDir('drover-trav-link-'));
    const run = runner(box.root);
    const url = await rawServer(() => 'attachment; filename="link"');
    fs.mkdirSync(path.join(box.root, 'archive'));
    fs.symlinkSync(box.outside, path.join(box.root, 'archive', 'out'));
    fs.symlinkSync(path.join(box.outside, 'keep'), path.join(box.root, 'archive', 'link'));
    for (const dest of ['archive:out', 'archive:out/sub']) {
      expect(await run({ url: `${url}/x`, dest }), dest).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringMatching(/through a symbolic link/) });
    }
    // A server's name that is a link already there: delivered beside it, the link untouched.
    for (const collision of ['rename', 'overwrite', 'skip']) {
      const res = await run({ url: `${url}/x`, dest: 'archive', collision });
      if (collision === 'skip') expect(res.result, collision).toMatchObject({ skipped: true });
      else if (collision === 'rename') delivered(box, res, collision);
      box.unchanged(collision);
      expect(fs.readFileSync(path.join(box.outside, 'keep'), 'utf8')).toBe('keep');
    }
  });
});

describe("ffmpeg's output param, against the traversal corpus", () => {
  it('is refused at enqueue naming params.output, or is a plain name in the job\'s own directory', async () => {
    const c = await coordinator();
    for (const { label, value } of traversalCorpus('/nonexistent/outside')) {
      const what = `output=${show(value)} (${label})`;
      const at = await c.enqueue({ kind: 'ffmpeg', params: { input: 'rtsp://cam/stream', output: value, format: 'mp4' } });
      if (at.status === 201) {
        expect(path.basename(value), what).toBe(value);
        expect(['', '.', '..'], what).not.toContain(value);
        continue;
      }
      expect(at.status, what).toBe(400);
      expect(at.message, what).toMatch(/^params\.output: /);
      expect(at.message, what).toContain(shownPart(value));
    }
  });
});
