import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import type { Job } from '../../src/core/job.js';
import { runDrover, spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

/** A template whose job runs until its `flag` file exists: it is running for as long as a test needs. */
const TEMPLATES = `templates:
  hold:
    argv: [sh, -c, 'while [ ! -e "$1" ]; do sleep 0.05; done; echo released', sh, "{flag}"]
`;

describe('drover.yaml read again on SIGHUP', () => {
  it('gives a running worker new templates, destinations and slots without dropping its jobs; a broken file changes nothing', async () => {
    const dir = tempDir('drover-reload-');
    writeConfig(dir, `${TEMPLATES}worker:\n  concurrency: 1\n`);
    const info = { DROVER_LOG_LEVEL: 'info' };
    const srv = await startServer(dir, [], info);
    const worker = spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir, env: info });
    const drover = new DroverClient({ server: srv.url });
    onCleanup(() => drover.close());
    await waitFor(async () => (await drover.workers()).some((w) => w.name === 'w1' && w.online), 15_000, 'w1 online');

    const flag = path.join(dir, 'release');
    const held = await drover.enqueue({ template: 'hold', params: { flag } });
    await waitFor(async () => (await drover.get(held.id)).job.state === 'running', 15_000, 'the held job running');
    const early = await runDrover(['add', '--template', 'fresh', '--server', srv.url], { cwd: dir });
    expect(early.stderr).toBe('drover: template: unknown template "fresh" (known: hold)\n');

    writeConfig(dir, `${TEMPLATES}  fresh:
    argv: [echo, fresh]
worker:
  concurrency: 2
  output_root: ./elsewhere
  destinations: { vault: ${JSON.stringify(path.join(dir, 'vault'))} }
server:
  lease_ttl: 45s
`);
    worker.proc.kill('SIGHUP');
    srv.proc.kill('SIGHUP');
    await waitFor(() => worker.output().includes('configuration reloaded'), 15_000, 'the worker reloaded');
    const w1 = await waitFor(async () => (await drover.workers()).find((w) => w.name === 'w1' && w.templates.some((t) => t.name === 'fresh')), 15_000, 'the coordinator told');
    expect(w1.destinations).toEqual(['vault']);
    expect(w1.slots).toBe(2);
    // What a reload cannot change is named (each part logs as it goes: wait for the line).
    await waitFor(() => /"keys":\["worker\.output_root"\].*take effect at the next start/.test(worker.output()), 15_000, 'the worker naming output_root');
    await waitFor(() => srv.output().includes('templates reloaded'), 15_000, 'the coordinator reloaded');
    await waitFor(() => /"keys":\["server\.lease_ttl"\].*take effect at the next start/.test(srv.output()), 15_000, 'the coordinator naming lease_ttl');
    const later = await runDrover(['add', '--template', 'fresh', '--server', srv.url], { cwd: dir });
    expect(later.stderr).toBe('');
    const fresh = later.stdout.split(' ')[0] as string;
    const added = await runDrover(['add', 'download', 'https://example.com/a.mp4', '--dest', 'vault', '--server', srv.url], { cwd: dir });
    expect(added.stderr).toBe('');
    await drover.cancel(added.stdout.split(' ')[0] as string);

    // The new template's job runs in the new slot, beside the job held since before the reload.
    const done = async (id: string): Promise<Job> => waitFor(async () => {
      const j = (await drover.get(id)).job;
      return j.state === 'succeeded' || j.state === 'failed' ? j : null;
    }, 30_000, `job ${id} done`);
    expect((await done(fresh)).state).toBe('succeeded');
    expect((await drover.get(held.id)).job.state).toBe('running');
    fs.writeFileSync(flag, '');
    const heldJob = await done(held.id);
    expect(heldJob.state).toBe('succeeded');
    expect(heldJob.attempt).toBe(1);

    // A file that does not load: refused, named, and the worker runs on as it was.
    fs.writeFileSync(path.join(dir, 'drover.yaml'), 'templates: [unclosed\n');
    worker.proc.kill('SIGHUP');
    await waitFor(() => worker.output().includes('reload refused'), 15_000, 'the refusal');
    expect(worker.output()).toMatch(/"err":"[^"\n]*drover\.yaml[^\n]*reload refused; the configuration in use stays/);
    const again = await drover.enqueue({ template: 'fresh' });
    expect((await done(again.id)).state).toBe('succeeded');
    expect(worker.proc.exitCode).toBeNull();
  });
});
