import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { tlsClientAction, tlsInitAction } from '../../src/cli/tls-action.js';
import { DroverClient } from '../../src/client/drover-client.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { silentLogger } from '../../src/core/logger.js';
import { issueCert, makeCa } from '../../src/core/pki.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

async function tlsServer(dir: string, o: Partial<Parameters<typeof startServer>[0]> = {}): Promise<RunningServer> {
  const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: [], logger: silentLogger(), tls: { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') }, ...o });
  cleanups.push(() => srv.close());
  return srv;
}

function client(url: string, ca?: string): DroverClient {
  const c = new DroverClient({ server: url, ...(ca ? { ca } : {}) });
  cleanups.push(() => c.close());
  return c;
}

/** The serial of the certificate a new TLS connection to `url` is shown. */
function servedSerial(url: string, ca: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ca, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

describe('TLS on the coordinator', () => {
  it('drover tls init makes a CA and a server certificate openssl verifies; again, it keeps the CA and renews the certificate', async () => {
    const dir = path.join(tempDir(), 'tls');
    await quietly(() => tlsInitAction(dir, { name: ['coord.example.net'], ip: ['10.1.2.3'] }));
    const mode = (f: string) => fs.statSync(path.join(dir, f)).mode & 0o777;
    expect([mode('ca.key'), mode('server.key'), mode('ca.crt'), mode('server.crt')]).toEqual([0o600, 0o600, 0o644, 0o644]);
    expect(execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'server.crt')]).toString()).toMatch(/: OK/);
    const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'server.crt'), '-noout', '-ext', 'subjectAltName']).toString();
    for (const n of ['DNS:localhost', 'DNS:coord.example.net', 'IP Address:127.0.0.1', 'IP Address:10.1.2.3']) expect(text).toContain(n);
    const ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const cert = fs.readFileSync(path.join(dir, 'server.crt'), 'utf8');
    await quietly(() => tlsInitAction(dir, {}));
    expect(fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8')).toBe(ca);
    expect(fs.readFileSync(path.join(dir, 'server.crt'), 'utf8')).not.toBe(cert);
  });

  it('serves the API over HTTPS, HTTP/2 and HTTP/1.1, to a client that trusts the CA', async () => {
    const dir = tempDir();
    await quietly(() => tlsInitAction(dir, {}));
    const srv = await tlsServer(dir);
    expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const api = client(srv.url, ca);
    await api.enqueue({ kind: 'noop' });
    expect((await api.stats()).counts.queued).toBe(1);
    const h2 = http2.connect(srv.url, { ca });
    // Left open: the coordinator's close must not wait for a client's HTTP/2 session (a browser's).
    cleanups.push(async () => void h2.destroy());
    const status = await new Promise<number>((resolve, reject) => {
      const req = h2.request({ ':path': '/healthz' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    // With the HTTP/2 session still open (a browser's): the coordinator closes all the same.
    await srv.close();
  });

  it('says which of CA and name is wrong, and how to fix it', async () => {
    const dir = tempDir();
    await quietly(() => tlsInitAction(dir, {}));
    const srv = await tlsServer(dir);
    await expect(client(srv.url).stats()).rejects.toThrow(/its TLS certificate is signed by a CA this client does not trust .*DROVER_CA=FILE/);
    // A certificate for another name only.
    const other = tempDir();
    const ca = makeCa('test CA');
    const leaf = issueCert(ca, { commonName: 'other.example', names: ['other.example'], use: 'server' });
    fs.writeFileSync(path.join(other, 'server.crt'), leaf.cert);
    fs.writeFileSync(path.join(other, 'server.key'), leaf.key);
    const wrongName = await tlsServer(other);
    await expect(client(wrongName.url, ca.cert).stats()).rejects.toThrow(/its TLS certificate is not for 127\.0\.0\.1 \(it is for DNS:other\.example\): connect by one of its names, or make one for 127\.0\.0\.1 with drover tls init DIR --name 127\.0\.0\.1/);
  });

  it('takes a certificate made by openssl', async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'server.key'), '-out', path.join(dir, 'server.crt'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const srv = await tlsServer(dir);
    expect((await client(srv.url, fs.readFileSync(path.join(dir, 'server.crt'), 'utf8')).stats()).counts.queued).toBe(0);
  });

  it('reloads a renewed certificate for new connections while a worker long-polls on the old one', async () => {
    const dir = tempDir();
    await quietly(() => tlsInitAction(dir, {}));
    const ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const srv = await tlsServer(dir);
    const before = await servedSerial(srv.url, ca);
    const worker = client(srv.url, ca);
    const poll = worker.lease({ worker: { name: 'w', host: '', kinds: ['noop'], templates: [], slots: 1, running: 0, version: '' }, queues: [], limit: 1, wait: 20_000 });
    await waitFor(() => srv.coordinator.workAvailable.waiting === 1, 10_000, 'the long poll to wait');
    await quietly(() => tlsInitAction(dir, {}));
    srv.reloadTls();
    expect(await servedSerial(srv.url, ca)).not.toBe(before);
    // The long poll lives on: a job enqueued now reaches it.
    const job = await client(srv.url, ca).enqueue({ kind: 'noop' });
    expect((await poll).jobs.map((j) => j.id)).toEqual([job.id]);
    // A broken file is refused; the certificate in use stays.
    fs.writeFileSync(path.join(dir, 'server.crt'), 'not a certificate');
    expect(() => srv.reloadTls()).toThrow(/server\.tls\.cert: .* is not a PEM file/);
    expect((await client(srv.url, ca).stats()).counts.running).toBe(1);
  });

  it('refuses to listen beyond loopback without TLS unless a TLS-terminating proxy is said to be in front', async () => {
    const tokens = { admin: 'a'.repeat(32), worker: 'w'.repeat(32) };
    const base = { port: 0, dataDir: path.join(tempDir(), 'data'), tokens, templates: [], logger: silentLogger() };
    await expect(startServer({ ...base, host: '0.0.0.0' })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without TLS: .*server\.tls \{ cert, key \} \(drover tls init DIR makes them\), or server\.insecure_http: true/);
    const srv = await startServer({ ...base, host: '0.0.0.0', insecureHttp: true });
    cleanups.push(() => srv.close());
    expect(srv.url).toMatch(/^http:\/\//);
  });
});

describe('mutual TLS (server.tls.client_ca)', () => {
  it("takes a client certificate of the CA as its worker's identity on the worker routes; not another CA's, nor none", async () => {
    const dir = tempDir();
    await quietly(() => tlsInitAction(dir, {}));
    await quietly(() => tlsClientAction(dir, 'nvr-berlin', {}));
    const ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const tokens = { admin: 'a'.repeat(32), worker: 'w'.repeat(32) };
    const srv = await tlsServer(dir, { tokens, tls: { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), clientCa: path.join(dir, 'ca.crt') } });
    const clientCert = { cert: fs.readFileSync(path.join(dir, 'nvr-berlin.crt'), 'utf8'), key: fs.readFileSync(path.join(dir, 'nvr-berlin.key'), 'utf8') };
    const admin = new DroverClient({ server: srv.url, ca, token: tokens.admin });
    cleanups.push(() => admin.close());
    const job = await admin.enqueue({ kind: 'noop' });
    const worker = new DroverClient({ server: srv.url, ca, clientCert });
    cleanups.push(() => worker.close());
    const info = (name: string) => ({ worker: { name, host: '', kinds: ['noop'], templates: [], slots: 1, running: 0, version: '' }, queues: [], limit: 1, wait: 0 });
    expect((await worker.lease(info('nvr-berlin'))).jobs.map((j) => j.id)).toEqual([job.id]);
    // Its certificate names it: not another worker, and not the admin routes.
    await expect(worker.lease(info('nvr-paris'))).rejects.toMatchObject({ status: 403 });
    await expect(worker.stats()).rejects.toMatchObject({ status: 401 });
    // No certificate, or one of another CA: a token is needed, as without mutual TLS.
    const bare = new DroverClient({ server: srv.url, ca });
    cleanups.push(() => bare.close());
    await expect(bare.lease(info('nvr-berlin'))).rejects.toMatchObject({ status: 401 });
    const otherCa = makeCa('another CA');
    const stranger = new DroverClient({ server: srv.url, ca, clientCert: issueCert(otherCa, { commonName: 'nvr-berlin', use: 'client' }) });
    cleanups.push(() => stranger.close());
    await expect(stranger.lease(info('nvr-berlin'))).rejects.toMatchObject({ status: 401 });
  });
});
