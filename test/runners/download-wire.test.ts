import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HttpError, get } from '../../src/runners/download/http.js';
import { WireClient } from '../../src/runners/download/wire/client.js';
import { proxyFor } from '../../src/runners/download/wire/proxy-env.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

const TINYPROXY = '/usr/bin/tinyproxy';

function client(o: Partial<ConstructorParameters<typeof WireClient>[0]> = {}): WireClient {
  const c = new WireClient({ connectTimeoutMs: 5_000, readTimeoutMs: 5_000, ...o });
  onCleanup(() => c.close());
  return c;
}

const never = new AbortController().signal;

/** Reads a whole answer's body. */
async function text(c: WireClient, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await c.get(new URL(url), headers, never);
  const parts: Buffer[] = [];
  // Views are only valid during the call: copied here.
  await res.pipe((v) => void parts.push(Buffer.from(v)));
  return { status: res.status, body: Buffer.concat(parts).toString() };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** A raw TCP server that answers each connection with `script` (bytes, and pauses in ms), then closes it. */
async function rawServer(script: Array<string | number>): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(async (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    await new Promise((r) => s.once('data', r));
    for (const step of script) {
      if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
      else if (!s.destroyed) s.write(step);
    }
    s.end();
  });
  onCleanup(() => {
    for (const s of sockets) s.destroy();
  });
  return `http://127.0.0.1:${await listen(server)}`;
}

describe('the download HTTP client', () => {
  it('keeps connections alive between requests, and opens a new one when the server closed the idle one', async () => {
    let connections = 0;
    const open = new Set<net.Socket>();
    const server = http.createServer((req, res) => res.end(`you asked ${req.url}`));
    server.keepAliveTimeout = 300;
    server.on('connection', (s) => {
      connections++;
      open.add(s);
      s.on('close', () => open.delete(s));
    });
    const url = `http://127.0.0.1:${await listen(server)}`;
    const c = client();
    for (let i = 0; i < 5; i++) expect(await text(c, `${url}/n${i}`)).toEqual({ status: 200, body: `you asked /n${i}` });
    expect(connections).toBe(1);
    // The server drops the idle connection; the next request must not fail for it.
    await waitFor(() => open.size === 0, 5_000, 'the server to close the idle connection');
    expect(await text(c, `${url}/again`)).toEqual({ status: 200, body: 'you asked /again' });
    expect(connections).toBe(2);
  });

  it('reads chunked bodies whose framing arrives split at every awkward place, and skips 1xx answers', async () => {
    const url = await rawServer([
      'HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r',
      20,
      '\n5\r',
      20,
      '\nhel',
      20,
      'lo\r',
      20,
      '\n6;ext=1\r\n world\r\n0\r\n',
      20,
      'x-trailer: 1\r\n\r\n',
    ]);
    expect(await text(client(), `${url}/`)).toEqual({ status: 200, body: 'hello world' });
  });

  it('fails clearly on a server that breaks the protocol or goes quiet', async () => {
    const bad = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 12, 13\r\n\r\n']);
    await expect(text(client(), `${bad}/`)).rejects.toThrow(/bad Content-Length/);
    const garbage = await rawServer(['SSH-2.0-OpenSSH_9.2\r\n\r\n']);
    await expect(text(client(), `${garbage}/`)).rejects.toThrow(/not an HTTP\/1.x answer/);
    const short = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\nonly this']);
    await expect(text(client(), `${short}/`)).rejects.toThrow(/closed after 9 of 100 body bytes/);
    const quiet = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nsome', 5_000]);
    await expect(text(client({ readTimeoutMs: 300 }), `${quiet}/`)).rejects.toThrow(/no data for 0.3 s/);
  });

  it('refuses a header that would smuggle a line break into the request', async () => {
    const url = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n']);
    await expect(text(client(), `${url}/`, { 'x-token': 'a\r\nhost: evil' })).rejects.toThrow(/header x-token has a line break/);
  });

  it('stops at once when its signal aborts, mid-body', async () => {
    const url = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nabc', 10_000]);
    const abort = new AbortController();
    const res = await client().get(new URL(`${url}/`), {}, abort.signal);
    const body = res.pipe(() => {
      abort.abort('canceled');
    });
    await expect(body).rejects.toThrow(/aborted \(canceled\)/);
  });

  it('verifies HTTPS certificates, and trusts a private CA given as ca_file', async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert }, (_req, res) => res.end('secret stuff'));
    const url = `https://localhost:${await listen(server)}/f`;
    const err = await get(new URL(url), {}, { client: client(), signal: never, maxRedirects: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toMatch(/self-signed certificate/);
    // A certificate that does not verify will not verify on the next try either.
    expect((err as HttpError).retryable).toBe(false);
    expect(await text(client({ ca: cert }), url)).toEqual({ status: 200, body: 'secret stuff' });
  });

  it.skipIf(!fs.existsSync(TINYPROXY))('goes through HTTP_PROXY (plain and CONNECT for https) and honours NO_PROXY', async () => {
    const dir = tempDir();
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    fs.writeFileSync(path.join(dir, 'tinyproxy.conf'), `Port ${port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Info\nMaxClients 20\n`);
    const proxy = spawn(TINYPROXY, ['-d', '-c', path.join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proxy.stdout.on('data', (d: Buffer) => (log += d.toString()));
    proxy.stderr.on('data', (d: Buffer) => (log += d.toString()));
    onCleanup(() => {
      proxy.kill('SIGKILL');
    });
    await waitFor(() => /Accepting connections/.test(log), 10_000, 'tinyproxy to start');

    const plain = `http://127.0.0.1:${await listen(http.createServer((req, res) => res.end(`plain ${req.url}`)))}`;
    const certDir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(certDir, 'k.pem'), '-out', path.join(certDir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    const cert = fs.readFileSync(path.join(certDir, 'c.pem'), 'utf8');
    const secure = `https://localhost:${await listen(https.createServer({ key: fs.readFileSync(path.join(certDir, 'k.pem')), cert }, (req, res) => res.end(`secure ${req.url}`)))}`;

    const env = { http_proxy: `http://127.0.0.1:${port}`, HTTPS_PROXY: `http://127.0.0.1:${port}` };
    const c = client({ env, ca: cert });
    expect(await text(c, `${plain}/a`)).toEqual({ status: 200, body: 'plain /a' });
    expect(await text(c, `${secure}/b`)).toEqual({ status: 200, body: 'secure /b' });
    await waitFor(() => log.includes(`GET ${plain}/a`) && /CONNECT localhost:\d+/.test(log), 5_000, 'tinyproxy to log both requests');
    // NO_PROXY: straight to the server, the proxy never hears of it.
    const direct = client({ env: { ...env, NO_PROXY: 'example.org, 127.0.0.1' }, ca: cert });
    expect(await text(direct, `${plain}/c`)).toEqual({ status: 200, body: 'plain /c' });
    expect(log).not.toContain(`${plain}/c`);
  });

  it('reads proxy settings as curl does', () => {
    const env = { https_proxy: 'proxy.lan:3128', NO_PROXY: '.internal,cdn.example.com:8443' };
    expect(proxyFor(new URL('https://a.example.com/f'), env)?.href).toBe('http://proxy.lan:3128/');
    expect(proxyFor(new URL('http://a.example.com/f'), env)).toBeNull();
    expect(proxyFor(new URL('https://files.internal/f'), env)).toBeNull();
    expect(proxyFor(new URL('https://cdn.example.com:8443/f'), env)).toBeNull();
    expect(proxyFor(new URL('https://cdn.example.com/f'), env)).not.toBeNull();
    expect(() => proxyFor(new URL('https://x.org/'), { https_proxy: 'socks5://u:hunter2@p:1080' })).toThrow(/https_proxy must be an http:\/\/ or https:\/\/ URL, not socks5:/);
    expect(() => proxyFor(new URL('https://x.org/'), { https_proxy: 'http://u:hunter2@[bad' })).toThrow(/^https_proxy is not a URL: http:\/\/\*\*\*@\[bad$/);
  });
});
