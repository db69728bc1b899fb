import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import { DROVER_BIN, runDrover, spawnDrover, startServer, stopProcess, writeConfig } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

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
    expect(jobs.first).toBe('queued 3000');
    expect([0, 141]).toContain(jobs.code ?? 141);
    expect(jobs.stderr).toBe('');

    // A worker of our own holds one: only the lease holder writes a job's log.
    const [job] = (await drover.lease({ worker: { name: 'hand', host: '', kinds: ['noop'], templates: [], slots: 1, running: 0, version: '' }, queues: [], limit: 1, wait: 0 })).jobs;
    for (let i = 0; i < 20; i++) await drover.appendLogs(job!.id, job!.lease.token, [{ stream: 'stdout', text: `${'line of output '.repeat(20)}\n`.repeat(400) }]);
    const logs = await firstChunkThenClose(['logs', job!.id, '--server', srv.url], cwd);
    expect(logs.first).toMatch(/^line of output/);
    expect([0, 141]).toContain(logs.code ?? 141);
    expect(logs.stderr).toBe('');
  });

  it('refuses a second coordinator on the same SQLite data, naming the first; takes over after one killed outright', async () => {
    const cwd = tempDir('drover-lock-');
    const first = await startServer(cwd, ['--data', 'data']);
    const second = spawnDrover(['server', '--port', '0', '--data', 'data'], { cwd });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`data/drover.db is in use by another drover coordinator (pid ${first.proc.pid}`);
    expect(second.output()).not.toMatch(/\n\s+at /);
    // Killed with SIGKILL, it leaves its lock behind: the next start takes it over.
    await stopProcess(first.proc, 'SIGKILL');
    expect(fs.existsSync(path.join(cwd, 'data', 'drover.db.lock'))).toBe(true);
    const third = await startServer(cwd, ['--data', 'data']);
    expect(fs.readFileSync(path.join(cwd, 'data', 'drover.db.lock'), 'utf8').split('\n')[0]).toBe(String(third.proc.pid));
  });

  it('migrate-store: a missing source is an error that creates nothing; a source a coordinator holds is refused', async () => {
    const cwd = tempDir('drover-migrate-');
    const missing = await runDrover(['migrate-store', '--from', 'sqlite:nope/drover.db', '--to', 'sqlite:copy.db'], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`--from sqlite:nope/drover.db: there is no SQLite database at ${path.join(cwd, 'nope', 'drover.db')}`);
    expect(fs.existsSync(path.join(cwd, 'nope'))).toBe(false);
    expect(fs.existsSync(path.join(cwd, 'copy.db'))).toBe(false);

    const srv = await startServer(cwd, ['--data', 'data']);
    const held = await runDrover(['migrate-store', '--from', 'sqlite:data/drover.db', '--to', 'sqlite:copy.db'], { cwd });
    expect(held.code).toBe(1);
    expect(held.stderr).toContain(`--from sqlite:data/drover.db: a running drover coordinator uses it (pid ${srv.proc.pid})`);
    expect(fs.existsSync(path.join(cwd, 'copy.db'))).toBe(false);
    await stopProcess(srv.proc);
    const copied = await runDrover(['migrate-store', '--from', 'sqlite:data/drover.db', '--to', 'sqlite:copy.db'], { cwd });
    expect(copied.stdout).toMatch(/^copied 0 of 0 jobs/);
    expect(copied.code).toBe(0);
  });

  it('import: a missing column is named, with the columns the file has and the one meant; headers match whatever their case', async () => {
    const cwd = tempDir('drover-import-');
    writeConfig(cwd, `templates:
  hikload:
    argv: [hikload, "--server={server}", "--user={user}", "--password={password}", "--cameras={cameras}"]
    secrets: [password]
`);
    const srv = await startServer(cwd);
    const importing = (file: string, text: string, args: string[]) => {
      fs.writeFileSync(path.join(cwd, file), text);
      return runDrover(['import', file, ...args, '--server', srv.url], { cwd });
    };
    const typo = await importing('cameras.csv', 'user,pasword,Server,cameras\nadmin,S3cret,10.0.0.11,101\n', ['--template', 'hikload']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe('drover: cameras.csv: column "password" missing, required by template hikload (the file has user, pasword, Server, cameras — did you mean "pasword"?)\n');

    const cased = await importing('cased.csv', 'User,PASSWORD,Server,Cameras\nadmin,S3cret,10.0.0.11,101\nadmin,Pa55,10.0.0.12,101\n', ['--template', 'hikload']);
    // No worker runs yet: the jobs are taken all the same, with a warning that says so.
    expect(cased.stderr).toBe('drover: warning: no online worker offers template "hikload"\n');
    expect(cased.stdout).toMatch(/^created 2 jobs/);
    const drover = new DroverClient({ server: srv.url });
    onCleanup(() => drover.close());
    const { jobs } = await drover.list({ tag: 'import:cased.csv' });
    expect(jobs.map((j) => j.params)).toEqual([
      { user: 'admin', password: '***', server: '10.0.0.11', cameras: '101' },
      { user: 'admin', password: '***', server: '10.0.0.12', cameras: '101' },
    ]);

    // A built-in kind: its params match whatever their case too, and a missing one is named.
    const links = await importing('links.csv', 'URL\nhttps://cdn.example.com/a.mp4\n', ['--kind', 'download', '--dest', 'archive']);
    expect(links.stderr).toBe('drover: warning: no online worker runs kind download\n');
    expect((await drover.list({ tag: 'import:links.csv' })).jobs[0]?.params.url).toBe('https://cdn.example.com/a.mp4');
    const nourl = await importing('nourl.csv', 'link\nhttps://cdn.example.com/a.mp4\n', ['--kind', 'download', '--dest', 'archive']);
    expect(nourl.stderr).toMatch(/^drover: nourl\.csv: column "url" missing, required: the http\(s\) URL to download \(the file has link\)\n$/);
  });

  it('jobs: newest first under a count per state, --oldest, --state with --since, lines fitted to COLUMNS; --run-at takes a duration', async () => {
    const cwd = tempDir('drover-jobs-');
    const srv = await startServer(cwd);
    const drover = new DroverClient({ server: srv.url });
    onCleanup(() => drover.close());
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) ids.push((await drover.enqueue({ kind: 'noop', params: { echo: `${name} ${'long text '.repeat(20)}` } })).id);
    // Ended in the other order than made (a millisecond apart): 3, then 1.
    for (const i of [3, 1]) {
      const at = (await drover.cancel(ids[i] as string)).finishedAt ?? 0;
      await waitFor(() => Date.now() > at, 5_000, 'the next millisecond');
    }
    const jobs = async (...args: string[]) => {
      const r = await runDrover(['jobs', ...args, '--server', srv.url], { cwd });
      expect(r.stderr).toBe('');
      const [counts, header, ...rows] = r.stdout.trimEnd().split('\n');
      return { counts, header, ids: rows.map((l) => l.split(' ')[0]), rows, stdout: r.stdout };
    };
    const all = await jobs();
    expect(all.counts).toBe('queued 3, canceled 2');
    expect(all.header).toMatch(/^ID\s+STATE\s+KIND\s+OWNER\s+TRY\s+TIME\s+PARAMS\s+PROGRESS \/ ERROR$/);
    expect(all.ids).toEqual([...ids].reverse());
    expect(all.rows[0]).toContain('echo=e long text');
    expect((await jobs('--oldest')).ids).toEqual(ids);
    const two = await jobs('--limit', '2');
    expect(two.ids.slice(0, 2)).toEqual([ids[4], ids[3]]);
    expect(two.rows[2]).toBe('the newest 2 of 5; --limit N or --all for more, --oldest for the first');
    const canceled = await jobs('--state', 'canceled', '--since', '1h');
    expect(canceled.counts).toBe('queued 3, canceled 2');
    expect(canceled.ids).toEqual([ids[3], ids[1]]);
    const finished = await jobs('--finished');
    expect(finished.ids).toEqual([ids[1], ids[3]]);
    expect((await jobs('--finished', '--oldest')).ids).toEqual([ids[3], ids[1]]);
    expect((await runDrover(['jobs', '--finished', '--state', 'queued,canceled', '--server', srv.url], { cwd })).stderr).toBe('drover: --finished lists finished jobs only; --state queued never is (finished: succeeded, failed, timed_out, canceled)\n');
    expect((await jobs('--since', '2099-01-01')).stdout).toBe('no jobs match --since 2099-01-01T00:00:00.000Z\n');
    expect((await jobs('--state', 'failed')).stdout).toBe('queued 3, canceled 2\nno jobs match --state failed\n');
    const bad = await runDrover(['jobs', '--since', 'yesterday', '--server', srv.url], { cwd });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('drover: --since: "yesterday" is not a time (expected an ISO 8601 time such as 2026-12-01T18:00, or a duration such as 1h (ago))\n');

    // A narrow terminal: params and progress are cut, the ids never.
    const narrow = await runDrover(['jobs', '--server', srv.url], { cwd, env: { COLUMNS: '80' } });
    const lines = narrow.stdout.trimEnd().split('\n');
    for (const l of lines.slice(1)) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines.slice(2).map((l) => l.split(' ')[0])).toEqual([...ids].reverse());
    expect(lines[2]).toMatch(/  echo=e[^…]*…/);

    const later = await runDrover(['add', 'noop', '--run-at', '10m', '--server', srv.url], { cwd });
    expect(later.stdout).toMatch(/ waiting\n$/);
    const runAt = (await drover.get(later.stdout.split(' ')[0] as string)).job.runAt;
    expect(runAt).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect(runAt).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
    const laterId = later.stdout.split(' ')[0] as string;
    expect((await jobs('--state', 'waiting')).rows[0]).toMatch(new RegExp(`^${laterId}\\s+waiting\\s+noop\\s+\\d/\\d+\\s+in (9m\\d\\ds|10m00s)\\s`));
    expect((await runDrover(['show', laterId, '--server', srv.url], { cwd })).stdout).toMatch(/^run at: +\d{4}-\d\d-\d\dT[\d:.]+Z \(in (9m\d\ds|10m00s)\)$/m);

    // One checksum cannot be right for two files; a download's row leads with its URL.
    const twoUrls = ['add', 'download', 'https://cdn.example.com/day1.mp4', 'https://cdn.example.com/day2.mp4', '--dest', 'default:videos/2026', '--server', srv.url];
    const both = await runDrover([...twoUrls, '--sha256', 'a'.repeat(64)], { cwd });
    expect(both.code).toBe(1);
    expect(both.stderr).toBe('drover: --sha256: one checksum for 2 URLs; add each file with its own --sha256 (or import a file with a sha256 column)\n');
    await runDrover(twoUrls, { cwd });
    expect((await jobs('--kind', 'download')).rows.map((r) => /url=\S+ dest=/.exec(r)?.[0])).toEqual(['url=https://cdn.example.com/day2.mp4 dest=', 'url=https://cdn.example.com/day1.mp4 dest=']);
  });

  it('up: human log lines with --log-format human (a terminal\'s default), JSON lines when piped; a bad --concurrency binds nothing', async () => {
    const cwd = tempDir('drover-logs-');
    const info = { DROVER_LOG_LEVEL: 'info' };
    const human = spawnDrover(['up', '--port', '0', '--log-format', 'human'], { cwd, env: info });
    await waitFor(() => /coordinator on http/.test(human.output()), 15_000, 'up started');
    // The line's fields in the order logged, the connection cap (server.max_connections) last.
    await waitFor(() => /^\d\d:\d\d:\d\d info  coordinator listening url=http:\/\/127\.0\.0\.1:\d+ auth=false maxConnections=\d+$/m.test(human.output()), 5_000, 'a human line');
    expect(human.output()).not.toContain('{"level"');
    await stopProcess(human.proc);
    expect(human.output()).toMatch(/^\d\d:\d\d:\d\d info  shutting down: no new jobs worker=\S+ running=0 graceMs=30000$/m);

    const json = spawnDrover(['up', '--port', '0'], { cwd, env: info });
    await waitFor(() => /"msg":"coordinator listening"/.test(json.output()), 15_000, 'a JSON line');
    await stopProcess(json.proc);
    // Every line JSON, what up announces too: a collector of JSON lines gets nothing else.
    const lines = json.output().trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('{')).join('\n')).toBe('');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContainEqual(expect.stringMatching(/^coordinator on http:\/\/127\.0\.0\.1:\d+ with local worker \S+ \(\d+ slots?\); data in /));

    // Checked before the coordinator listens: the port stays free and nothing is left running.
    const bad = await runDrover(['up', '--port', '0', '--concurrency', '0'], { cwd, env: info });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('drover: --concurrency: expected an integer ≥ 1, got "0"\n');
    const format = await runDrover(['up', '--log-format', 'xml'], { cwd });
    expect(format.stderr).toBe('drover: --log-format: expected json or human, got "xml"\n');
  });

  it('warns at once of a job no online worker can run, and shows why it waits; `drover workers` tells online from offline', async () => {
    const cwd = tempDir('drover-ghost-');
    writeConfig(cwd, `server:
  lease_ttl: 2s
  heartbeat_interval: 300ms
templates:
  ghost:
    argv: [ghost, "{what}"]
`);
    const srv = await startServer(cwd);
    const added = await runDrover(['add', '--template', 'ghost', '--param', 'what=1', '--server', srv.url], { cwd });
    expect(added.code).toBe(0);
    expect(added.stderr).toBe('drover: warning: no online worker offers template "ghost"\n');
    const id = added.stdout.split(' ')[0] as string;
    expect((await runDrover(['show', id, '--server', srv.url], { cwd })).stdout).toContain('waiting:   no online worker offers template "ghost"');
    expect((await runDrover(['jobs', '--server', srv.url], { cwd })).stdout).toContain('waiting: no online worker offers template "ghost"');

    // A worker without the template: still waiting. Its own kinds and destinations are known now.
    const w = spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd });
    const drover = new DroverClient({ server: srv.url });
    onCleanup(() => drover.close());
    await waitForWorkers(drover, (ws) => ws.some((x) => x.name === 'w1' && x.online));
    const dl = await runDrover(['add', 'download', 'https://example.com/a.mp4', '--dest', 'vault', '--server', srv.url], { cwd });
    expect(dl.stderr).toBe('drover: warning: no online worker has destination "vault" (they have: default)\n');
    const table = (await runDrover(['workers', '--server', srv.url], { cwd })).stdout;
    expect(table).toMatch(/^NAME\s+HOST\s+STATE\s+SLOTS\s+RUNNING/);
    expect(table).toMatch(/\nw1\s+\S+\s+online\s/);
    await stopProcess(w.proc, 'SIGKILL');
    await waitForWorkers(drover, (ws) => ws.some((x) => x.name === 'w1' && !x.online));
    expect((await runDrover(['workers', '--server', srv.url], { cwd })).stdout).toMatch(/\nw1\s+\S+\s+offline\s/);

    // A worker stopped cleanly says so on its way out: offline at once, not a lease TTL later.
    const w2 = spawnDrover(['worker', '--server', srv.url, '--name', 'w2'], { cwd });
    await waitForWorkers(drover, (ws) => ws.some((x) => x.name === 'w2' && x.online));
    w2.proc.kill('SIGTERM');
    expect(await w2.exited).toBe(0);
    expect((await drover.workers()).find((x) => x.name === 'w2')?.online).toBe(false);
    expect((await runDrover(['stats', '--server', srv.url], { cwd })).stdout).toMatch(/workers\s+0 online/);
  });
});

async function waitForWorkers(drover: DroverClient, ok: (ws: Array<{ name: string; online: boolean }>) => boolean): Promise<void> {
  await waitFor(async () => ok(await drover.workers()), 20_000, 'the workers to be as expected');
}
