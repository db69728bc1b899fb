import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tlsInitAction } from '../../src/cli/tls-action.js';
import { parseConfig } from '../../src/config/config.js';
import { DroverClient } from '../../src/client/drover-client.js';
import { startServer } from '../../src/coordinator/server.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ADMIN = 'admin-0f3a9c2e7b1d4e8f9a6b5c4d3e2f1a0b';
const WORKER = 'worker-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b';
const PASSWORD = 'Nvr-Capture-S3cret!';
const { templates } = parseConfig('templates:\n  hik:\n    argv: [hikload, "--password={password}"]\n    secrets: [password]\n');

/**
 * A capture on loopback of `port` with Debian's tshark (this machine's tcpdump counts packets but
 * writes none): every TCP payload as it passes, line by line. It starts, and `stop` ends, by
 * sending a marker and waiting to see it, so that nothing between is missed; `stop` gives the
 * payload bytes.
 */
async function capture(port: number): Promise<{ stop: () => Promise<Buffer> }> {
  const p = spawn('tshark', ['-i', 'lo', '-f', `tcp port ${port}`, '-l', '-T', 'fields', '-e', 'tcp.payload'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let rest = '';
  p.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) chunks.push(Buffer.from(l.trim().replace(/:/g, ''), 'hex'));
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/Capture started/.test(err)) resolve();
    });
    p.on('exit', (code) => reject(new Error(`tshark exited with ${code}: ${err}`)));
    p.on('error', reject);
  });
  cleanups.push(async () => void p.kill('SIGKILL'));
  /** Sends a marker (not a request either server can answer) and waits to see it: all sent before it has been seen. */
  const sync = async () => {
    const mark = `drover-capture-marker-${Math.random().toString(36).slice(2)}`;
    const c = net.connect(port, '127.0.0.1', () => c.write(mark));
    c.on('error', () => undefined);
    await waitFor(() => Buffer.concat(chunks).includes(mark), 20_000, 'the capture to see its marker');
    c.destroy();
  };
  // Capturing for sure before anything that counts is sent.
  await sync();
  return {
    stop: async () => {
      await sync();
      p.kill('SIGINT');
      return Buffer.concat(chunks);
    },
  };
}

/** A job with a secret enqueued by the admin, leased by a worker: both tokens and the secret cross the wire. */
async function leaseOne(url: string, ca?: string): Promise<void> {
  const admin = new DroverClient({ server: url, token: ADMIN, ...(ca ? { ca } : {}) });
  const worker = new DroverClient({ server: url, token: WORKER, ...(ca ? { ca } : {}) });
  try {
    await admin.enqueue({ template: 'hik', params: { password: PASSWORD } });
    const leased = await worker.lease({ worker: { name: 'w', host: '', kinds: ['exec'], templates: [{ name: 'hik', kind: 'exec', required: ['password'], secrets: ['password'], params: {}, concurrency: null, timeLimitMs: null, maxAttempts: null, backoffMs: null }], slots: 1, running: 0, version: '' }, queues: [], limit: 1, wait: 0 });
    expect(leased.jobs[0]?.params.password).toBe(PASSWORD);
  } finally {
    await admin.close();
    await worker.close();
  }
}

describe('a packet capture on loopback', () => {
  it('shows the tokens and a secret param of a lease in clear over HTTP, and none of them over TLS', async () => {
    const dir = tempDir();
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    await tlsInitAction(path.join(dir, 'tls'), {}).finally(() => (process.stdout.write = write));
    const base = { port: 0, tokens: { admin: ADMIN, worker: WORKER }, templates: [...templates.values()], logger: silentLogger() };
    const secure = await startServer({ ...base, dataDir: path.join(dir, 'a'), tls: { cert: path.join(dir, 'tls', 'server.crt'), key: path.join(dir, 'tls', 'server.key') } });
    cleanups.push(() => secure.close());
    const plain = await startServer({ ...base, dataDir: path.join(dir, 'b') });
    cleanups.push(() => plain.close());

    const seen = (bytes: Buffer) => [ADMIN, WORKER, PASSWORD].filter((s) => bytes.includes(s));
    const overHttp = await capture(Number(new URL(plain.url).port));
    await leaseOne(plain.url);
    // The capture works: in clear, all three are there.
    expect(seen(await overHttp.stop())).toEqual([ADMIN, WORKER, PASSWORD]);

    const overTls = await capture(Number(new URL(secure.url).port));
    await leaseOne(secure.url, fs.readFileSync(path.join(dir, 'tls', 'ca.crt'), 'utf8'));
    const bytes = await overTls.stop();
    expect(bytes.length).toBeGreaterThan(2_000);
    expect(seen(bytes)).toEqual([]);
  });
});
