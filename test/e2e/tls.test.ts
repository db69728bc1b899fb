import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { tempDir, waitFor } from '../support/tmp.js';

/** The serial of the certificate a new TLS connection to `url` is shown. */
function servedSerial(url: string, ca: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ca }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

describe('TLS from the command line, as the README walks it', () => {
  it('drover tls init, a coordinator on HTTPS, a worker and the CLI trusting its CA; without the CA, a clear refusal', async () => {
    const dir = tempDir('drover-tls-e2e-');
    const init = await runDrover(['tls', 'init', 'tls', '--name', 'coord.example.net'], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/made a CA: .*ca\.crt/);
    expect(init.stdout).toContain(`tls: { cert: ${path.join(dir, 'tls', 'server.crt')}, key: ${path.join(dir, 'tls', 'server.key')} }`);
    writeConfig(dir, `server:\n  tls: { cert: tls/server.crt, key: tls/server.key }\nworker:\n  ca_file: tls/ca.crt\n`);
    const srv = await startServer(dir);
    expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir });
    const add = await runDrover(['add', 'noop', '--param', 'echo=over-tls', '--wait', '--server', srv.url], { cwd: dir, timeoutMs: 60_000 });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const env = { DROVER_CA: path.join(dir, 'tls', 'ca.crt') };
    const elsewhere = tempDir('drover-tls-cli-');
    const jobs = await runDrover(['jobs', '--server', srv.url], { cwd: elsewhere, env });
    expect(jobs.stdout).toMatch(/succeeded 1/);
    const refused = await runDrover(['jobs', '--server', srv.url], { cwd: elsewhere });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/its TLS certificate is signed by a CA this client does not trust .*DROVER_CA=FILE/);

    // Renewed while the worker long-polls: kill -HUP, new connections get it, the worker goes on.
    const ca = fs.readFileSync(path.join(dir, 'tls', 'ca.crt'), 'utf8');
    const before = await servedSerial(srv.url, ca);
    expect((await runDrover(['tls', 'init', 'tls'], { cwd: dir })).stdout).toMatch(/kept the CA/);
    srv.proc.kill('SIGHUP');
    await waitFor(async () => (await servedSerial(srv.url, ca)) !== before, 20_000, 'the renewed certificate');
    const again = await runDrover(['add', 'noop', '--param', 'echo=after-renewal', '--wait', '--server', srv.url], { cwd: elsewhere, env, timeoutMs: 60_000 });
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });
});
