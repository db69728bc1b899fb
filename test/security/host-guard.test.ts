import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, workerSettingsOf } from '../../src/config/config.js';
import type { LeasedJob, Params } from '../../src/core/job.js';
import { DownloadRunner } from '../../src/runners/download/download-runner.js';
import { DOWNLOAD_DEFAULTS } from '../../src/runners/download/settings.js';
import { HostGuard } from '../../src/core/host-guard.js';
import type { RunResult } from '../../src/runners/runner.js';
import { onCleanup, tempDir } from '../support/tmp.js';

async function server(handler: http.RequestListener): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const srv = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  const sockets = new Set<net.Socket>();
  srv.on('connection', (s) => void sockets.add(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, hits: () => hits };
}

function download(hosts: HostGuard, params: Params): Promise<RunResult> {
  const root = tempDir('drover-hosts-');
  const runner = new DownloadRunner({ ...DOWNLOAD_DEFAULTS, destinations: new Map([['archive', path.join(root, 'archive')]]), tempDir: path.join(root, 'tmp'), retries: 0, hosts });
  const job = { id: `h${Math.random().toString(36).slice(2, 8)}`, queue: 'default', kind: 'download', template: null, params: { dest: 'archive', ...params }, secrets: [], owner: null, tags: [], priority: 0, attempt: 1, maxAttempts: 1, timeLimitMs: null, createdAt: Date.now(), lease: { worker: 'w', token: 't', expiresAt: Date.now() + 60_000 } } as LeasedJob;
  return runner.run({ job, template: null, signal: new AbortController().signal, outputRoot: root, logDir: root, progress: () => {}, log: () => {} });
}

describe('worker.allow_hosts and worker.deny_hosts', () => {
  it('refuse by range, address and name; deny wins; a name is checked by what it resolves to', async () => {
    const deny = new HostGuard({ deny: ['loopback', '*.internal.example'] });
    await expect(deny.check('127.0.0.1')).rejects.toThrow('127.0.0.1 is denied by worker.deny_hosts (loopback)');
    await expect(deny.check('localhost')).rejects.toThrow(/^localhost \((127\.0\.0\.1|::1)\) is denied by worker\.deny_hosts \(loopback\)$/);
    await expect(deny.check('[::ffff:127.0.0.1]')).rejects.toThrow('is denied by worker.deny_hosts (loopback)');
    await expect(deny.check('nvr.internal.example')).rejects.toThrow('nvr.internal.example is denied by worker.deny_hosts (*.internal.example)');
    await expect(deny.check('10.1.2.3')).resolves.toBeUndefined();
    const allow = new HostGuard({ allow: ['10.0.0.0/8', 'cdn.example.com'], deny: ['10.9.0.0/16'] });
    await expect(allow.check('10.1.2.3')).resolves.toBeUndefined();
    await expect(allow.check('10.9.0.1')).rejects.toThrow('10.9.0.1 is denied by worker.deny_hosts (10.9.0.0/16)');
    await expect(allow.check('192.168.1.1')).rejects.toThrow('192.168.1.1 is not in worker.allow_hosts');
    expect(new HostGuard().off).toBe(true);
  });

  it('name a bad entry in the config', () => {
    const worker = (yaml: string) => () => workerSettingsOf(parseConfig(yaml).config.worker);
    expect(worker('worker:\n  deny_hosts: [10.0.0.0/40]\n')).toThrow(/worker\.deny_hosts: "10\.0\.0\.0\/40" has a prefix longer than the address/);
    expect(worker('worker:\n  allow_hosts: ["http://x"]\n')).toThrow(/worker\.allow_hosts: "http:\/\/x" is not a CIDR range/);
  });

  it('keep a download from a denied host, and from a redirect to one, without a request to it', async () => {
    const file = await server((_req, res) => void res.writeHead(200, { 'content-length': 5 }).end('hello'));
    const denied = await download(new HostGuard({ deny: ['loopback'] }), { url: `${file.url}/a.mp4` });
    expect(denied).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringContaining('127.0.0.1 is denied by worker.deny_hosts (loopback)') });
    expect(file.hits()).toBe(0);
    const byName = await download(new HostGuard({ allow: ['10.0.0.0/8'] }), { url: `${file.url.replace('127.0.0.1', 'localhost')}/a.mp4` });
    expect(byName).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringMatching(/localhost \(.*\) is not in worker\.allow_hosts/) });
    expect(file.hits()).toBe(0);
    expect(await download(new HostGuard({ allow: ['127.0.0.1'] }), { url: `${file.url}/a.mp4` })).toMatchObject({ outcome: 'succeeded' });

    const port = new URL(file.url).port;
    const hop = await server((_req, res) => void res.writeHead(302, { location: `http://127.0.0.2:${port}/a.mp4` }).end());
    const redirected = await download(new HostGuard({ allow: ['127.0.0.1'] }), { url: `${hop.url}/start` });
    expect(redirected).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringContaining('127.0.0.2 is not in worker.allow_hosts') });
  });
});
