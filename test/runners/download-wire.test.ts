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

  it('does not take what a server says on an idle connection (a 408 before it hangs up) for the next answer', async () => {
    const url = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst', 100, 'HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n']);
    const c = client();
    expect(await text(c, `${url}/1`)).toEqual({ status: 200, body: 'first' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await text(c, `${url}/2`)).toEqual({ status: 200, body: 'first' });
  });

  it('unfolds folded header lines, and refuses a name other parsers would read differently', async () => {
    const folded = await rawServer(['HTTP/1.1 200 OK\r\nx-long: a\r\n\tcontent-length: 99\r\ncontent-length: 2\r\n\r\nok']);
    const res = await client().get(new URL(`${folded}/`), {}, never);
    expect(res.headers['x-long']).toBe('a content-length: 99');
    expect(res.headers['content-length']).toBe('2');
    res.discard();
    const spaced = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length : 3\r\n\r\nabc']);
    await expect(text(client(), `${spaced}/`)).rejects.toThrow(/bad header line/);
    // Transfer-Encoding wins over Content-Length, and such a connection is not used again.
    const both = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 100\r\ntransfer-encoding: chunked\r\n\r\n00003\r\nabc\r\n0\r\n\r\n']);
    expect(await text(client(), `${both}/`)).toEqual({ status: 200, body: 'abc' });
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

  it('fails for good, not after retries, on a bad header or proxy setting', async () => {
    const url = await rawServer(['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n']);
    const opts = { signal: never, maxRedirects: 3 };
    const badHeader = (await get(new URL(`${url}/`), { 'x-a': 'b\nc' }, { ...opts, client: client() }).catch((e: unknown) => e)) as HttpError;
    expect(badHeader.retryable).toBe(false);
    const badProxy = (await get(new URL(`${url}/`), {}, { ...opts, client: client({ env: { http_proxy: 'socks5://p:1' } }) }).catch((e: unknown) => e)) as HttpError;
    expect(badProxy.message).toMatch(/http_proxy must be an http:\/\/ or https:\/\/ URL/);
    expect(badProxy.retryable).toBe(false);
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
    fs.writeFileSync(path.join(dir, 'tinyproxy.conf'), `Port ${port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Info\nMaxClients 20\nBasicAuth drover s3cret\n`);
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

    const env = { http_proxy: `http://drover:s3cret@127.0.0.1:${port}`, HTTPS_PROXY: `http://drover:s3cret@127.0.0.1:${port}` };
    const c = client({ env, ca: cert });
    expect(await text(c, `${plain}/a`)).toEqual({ status: 200, body: 'plain /a' });
    expect(await text(c, `${secure}/b`)).toEqual({ status: 200, body: 'secure /b' });
    await waitFor(() => log.includes(`GET ${plain}/a`) && /CONNECT localhost:\d+/.test(log), 5_000, 'tinyproxy to log both requests');
    // NO_PROXY: straight to the server, the proxy never hears of it.
    const direct = client({ env: { ...env, NO_PROXY: 'example.org, 127.0.0.1' }, ca: cert });
    expect(await text(direct, `${plain}/c`)).toEqual({ status: 200, body: 'plain /c' });
    expect(log).not.toContain(`${plain}/c`);
    // Without the proxy's password: refused for good, both ways, and the password never shown.
    const noAuth = client({ env: { http_proxy: `http://127.0.0.1:${port}`, https_proxy: `http://127.0.0.1:${port}` }, ca: cert });
    const opts = { client: noAuth, signal: never, maxRedirects: 3 };
    for (const u of [`${plain}/d`, `${secure}/e`]) {
      const err = (await get(new URL(u), {}, opts).catch((e: unknown) => e)) as HttpError;
      expect(err).toBeInstanceOf(HttpError);
      expect(err.message).toMatch(/407/);
      expect(err.retryable).toBe(false);
    }
    // Through the tunnel the certificate is checked against the server's name, not the proxy's:
    // this one names localhost only, so https://127.0.0.1 must not pass.
    const byIp = (await get(new URL(secure.replace('localhost', '127.0.0.1')), {}, { client: c, signal: never, maxRedirects: 3 }).catch((e: unknown) => e)) as HttpError;
    expect(byIp).toBeInstanceOf(HttpError);
    expect(byIp.message).toMatch(/IP: 127.0.0.1 is not in the cert's list/);
  });

  it('reads proxy settings as curl does', () => {
    const env = { https_proxy: 'proxy.lan:3128', NO_PROXY: '.internal,cdn.example.com:8443' };
    expect(proxyFor(new URL('https://a.example.com/f'), env)?.href).toBe('http://proxy.lan:3128/');
    expect(proxyFor(new URL('http://a.example.com/f'), env)).toBeNull();
    expect(proxyFor(new URL('https://files.internal/f'), env)).toBeNull();
    expect(proxyFor(new URL('https://cdn.example.com:8443/f'), env)).toBeNull();
    expect(proxyFor(new URL('https://cdn.example.com/f'), env)).not.toBeNull();
    const ips = { https_proxy: 'http://p:3128', no_proxy: '::1, 10.0.0.0/8, [fd00::]/8' };
    for (const direct of ['https://[::1]/', 'https://10.1.2.3/', 'https://[fd12::5]/']) expect(proxyFor(new URL(direct), ips)).toBeNull();
    for (const proxied of ['https://11.1.2.3/', 'https://[fe80::1]/', 'https://ten.example/']) expect(proxyFor(new URL(proxied), ips)).not.toBeNull();
    expect(() => proxyFor(new URL('https://x.org/'), { https_proxy: 'socks5://u:hunter2@p:1080' })).toThrow(/https_proxy must be an http:\/\/ or https:\/\/ URL, not socks5:/);
    expect(() => proxyFor(new URL('https://x.org/'), { https_proxy: 'http://u:hunter2@[bad' })).toThrow(/^https_proxy is not a URL: http:\/\/\*\*\*@\[bad$/);
  });
});
