import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import { DROVER_BIN, startServer } from '../support/drover.js';
import { onCleanup, tempDir } from '../support/tmp.js';

/** Runs `drover ARGS` and closes its stdout after the first chunk, as `| head -1` does. */
function firstChunkThenClose(args: string[], cwd: string): Promise<{ code: number | null; signal: string | null; stderr: string; first: string }> {
  const proc = spawn(process.execPath, [DROVER_BIN, ...args], { cwd, env: { ...process.env, DROVER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let first = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.once('data', (d: Buffer) => {
    first = d.toString().split('\n')[0] ?? '';
    proc.stdout.destroy();
  });
  return new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, stderr, first })));
}

describe('the first ten minutes, from the command line', () => {
  it('ends quietly when its output is closed (`drover jobs --all | head -1`, `drover logs ID | head -1`)', async () => {
    const cwd = tempDir('drover-pipe-');
    const srv = await startServer(cwd);
    const drover = new DroverClient({ server: srv.url });
    onCleanup(() => drover.close());
    // No worker: the jobs stay queued, and there are more of them than a pipe holds.
    await drover.enqueueManyIds(Array.from({ length: 3000 }, (_, i) => ({ kind: 'noop', params: { echo: `job ${i} ${'x'.repeat(50)}` } })));
    const jobs = await firstChunkThenClose(['jobs', '--all', '--server', srv.url], cwd);
    expect(jobs.first).toMatch(/^ID\s+STATE/);
    expect([0, 141]).toContain(jobs.code ?? 141);
    expect(jobs.stderr).toBe('');

    const [job] = (await drover.list({ limit: 1 })).jobs;
    for (let i = 0; i < 20; i++) await drover.appendLogs(job!.id, [{ stream: 'stdout', text: `${'line of output '.repeat(20)}\n`.repeat(400) }]);
    const logs = await firstChunkThenClose(['logs', job!.id, '--server', srv.url], cwd);
    expect(logs.first).toMatch(/^line of output/);
    expect([0, 141]).toContain(logs.code ?? 141);
    expect(logs.stderr).toBe('');
  });
});
