import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { tempDir } from '../support/tmp.js';

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
  });
});
