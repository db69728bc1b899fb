import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import { runDrover, spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

const CONFIG = `templates:
  lines:
    argv: [sh, -c, 'for i in $(seq 1 50); do echo "line $i"; done']
  fail:
    argv: [sh, -c, 'echo "bad {what}" >&2; exit 3']
    max_attempts: 1
`;

/** A coordinator with one worker on its own data, and a `drover` that talks to it. */
async function setUp(): Promise<{ dir: string; drover: DroverClient; run: (...args: string[]) => ReturnType<typeof runDrover> }> {
  const dir = tempDir('drover-cmds-');
  writeConfig(dir, CONFIG);
  const srv = await startServer(dir);
  // Jobs of the queue `slow` never run here: they stay put for cancel, retry and purge.
  spawnDrover(['worker', '--server', srv.url, '--name', 'w1', '--concurrency', '4', '--queue', 'default'], { cwd: dir });
  const drover = new DroverClient({ server: srv.url });
  onCleanup(() => drover.close());
  await waitFor(async () => (await drover.workers()).some((w) => w.online), 15_000, 'the worker online');
  return { dir, drover, run: (...args: string[]) => runDrover([...args, '--server', srv.url], { cwd: dir }) };
}

describe('the commands users reached for', () => {
  it('add --kind and --wait, logs --tail, import --wait with a fresh tag per re-import, wait on a typo', async () => {
    const { dir, run } = await setUp();
    const ok = await run('add', '--kind', 'noop', '--param', 'echo=hi', '--wait');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^(\S+) queued\n\1 succeeded\n$/);
    const bad = await run('add', '--template', 'fail', '--param', 'what=input', '--wait');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^(\S+) queued\n\1 failed: .*exit code 3/);

    const lines = await run('add', '--template', 'lines', '--wait');
    const id = lines.stdout.split(' ')[0] as string;
    expect((await run('logs', id, '--tail', '3')).stdout).toBe('line 48\nline 49\nline 50\n');
    expect((await run('logs', id, '-n', '0')).stdout).toBe('');
    // The whole log: the worker's two lines (the command, its pid) and the 50 of the job.
    expect((await run('logs', id)).stdout).toMatch(/^\$ sh -c .*\nstarted pid \d+ in .*\nline 1\n(?:line \d+\n){48}line 50\n$/);
    expect((await run('logs', id, '--tail', 'x')).stderr).toBe('drover: --tail: expected a whole number of lines, got "x"\n');

    fs.writeFileSync(path.join(dir, 'echo.csv'), 'echo\na\nb\n');
    const first = await run('import', 'echo.csv', '--kind', 'noop', '--wait');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created 2 jobs .*, tagged import:echo\.csv\n/);
    const again = await run('import', 'echo.csv', '--kind', 'noop');
    expect(again.stdout).toMatch(/, tagged import:echo\.csv#2\n$/);
    expect((await run('import', 'echo.csv', '--kind', 'noop')).stdout).toMatch(/, tagged import:echo\.csv#3\n$/);

    const typo = await run('wait', '--tag', 'import:echo.cvs');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('drover: no jobs match --tag import:echo.cvs\n');
    expect((await run('wait', '--tag', 'import:echo.csv#2', '--quiet')).code).toBe(0);
  });

  it('stats, templates, cancel and retry by filter, purge by state and age', async () => {
    const { drover, run } = await setUp();
    // Jobs that wait an hour: there to be canceled and retried, never run.
    const later = await drover.enqueueMany(Array.from({ length: 5 }, () => ({ kind: 'noop', tags: ['batch'], runAt: '1h', queue: 'slow' })));
    await drover.enqueue({ kind: 'noop', tags: ['other'], runAt: '1h' });
    await drover.wait((await drover.enqueue({ kind: 'noop' })).id);

    const stats = await run('stats');
    expect(stats.stdout).toMatch(/^jobs       waiting 6, succeeded 1\nlast hour  succeeded 1\nworkers    1 online \(4 slots, 0 running\)\n\nQUEUE\s+WAITING\s+SUCCEEDED\ndefault\s+1\s+1\nslow\s+5\s+0\n$/);
    const templates = await run('templates');
    expect(templates.stdout).toMatch(/^NAME\s+KIND\s+PARAMS \(\[optional\]\)\s+SECRETS\s+LIMIT\s+TIME LIMIT\nfail\s+exec\s+what\s*\nlines\s+exec\s*\n$/);

    expect((await run('cancel')).stderr).toBe('drover: cancel: give job ids, or filters such as --tag T --state waiting\n');
    expect((await run('cancel', later[0]!.id, '--tag', 'batch')).stderr).toBe('drover: cancel: give job ids or filters (--state, --tag, ...), not both\n');
    expect((await run('cancel', '--tag', 'batch', '--state', 'succeeded')).stderr).toBe('drover: --state: succeeded cannot be taken here (only waiting, queued, running, awaiting_children)\n');
    const canceled = await run('cancel', '--tag', 'batch');
    expect(canceled.stdout).toBe('canceled: 5 of 5 matching jobs\n');
    expect((await drover.counts({ tag: 'other' })).waiting).toBe(1);
    // By default a retry leaves canceled jobs alone; named, they go back.
    expect((await run('retry', '--tag', 'batch')).stdout).toBe('retried: 0 of 0 matching jobs\n');
    expect((await run('retry', '--tag', 'batch', '--state', 'canceled')).stdout).toBe('retried: 5 of 5 matching jobs\n');
    expect((await drover.counts({ tag: 'batch' })).queued).toBe(5);
    await run('cancel', '--queue', 'slow');

    const early = await run('purge', '--state', 'canceled', '--before', '1h');
    expect(early.stdout).toMatch(/^deleted 0 canceled jobs that finished before /);
    expect((await run('purge', '--state', 'queued', '--before', '0s')).stderr).toMatch(/states: "queued" is not a final state/);
    expect((await run('purge')).stderr).toMatch(/--before: required/);
    const purged = await run('purge', '--state', 'canceled', '--before', '0s');
    expect(purged.stdout).toMatch(/^deleted 5 canceled jobs /);
    expect(await drover.counts({})).toMatchObject({ waiting: 1, succeeded: 1, canceled: 0 });
  });

  it('--timeout: a server that takes the connection and never answers is given up on, naming it', async () => {
    const dir = tempDir('drover-mute-');
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    onCleanup(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => mute.close(() => r()));
    });
    const url = `http://127.0.0.1:${(mute.address() as net.AddressInfo).port}`;
    const r = await runDrover(['jobs', '--server', url, '--timeout', '500ms'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`drover: cannot reach the coordinator: ${url}: no answer within 500ms\n`);
    expect(sockets.length).toBeGreaterThan(0);
    const env = await runDrover(['stats', '--server', url], { cwd: dir, env: { DROVER_TIMEOUT: '300ms' } });
    expect(env.stderr).toBe(`drover: cannot reach the coordinator: ${url}: no answer within 300ms\n`);
    expect((await runDrover(['jobs', '--server', url, '--timeout', 'soon'], { cwd: dir })).stderr).toMatch(/^drover: --timeout: "soon" is not a duration/);
  });
});
