import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import { runDrover, startServer, writeConfig } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

const FFMPEG = '/usr/bin/ffmpeg';
const FFPROBE = '/usr/bin/ffprobe';
const ADMIN = 'admin-doctor-test-0123456789abcdef';
const WORKER = 'worker-doctor-test-0123456789abcdef';

interface Report {
  ok: boolean;
  checks: Array<{ check: string; status: 'ok' | 'warn' | 'fail'; message: string; fix?: string }>;
}

/** A coordinator with the token file's two tokens, in its own directory. */
async function coordinator(): Promise<{ url: string; tokens: string }> {
  const dir = tempDir('drover-doctor-srv-');
  const tokens = path.join(dir, 'tokens.yaml');
  fs.writeFileSync(tokens, `admin: ${ADMIN}\nworker: ${WORKER}\n`, { mode: 0o600 });
  const srv = await startServer(dir, ['--token-file', tokens]);
  return { url: srv.url, tokens };
}

/** A worker's directory: drover.yaml naming directories that exist, and the real ffmpeg. */
function workerDir(extra: { destinations?: Record<string, string>; ffmpeg?: string } = {}): string {
  const dir = tempDir('drover-doctor-');
  for (const d of ['out', 'logs', 'tmp', 'archive']) fs.mkdirSync(path.join(dir, d));
  const dests = { archive: path.join(dir, 'archive'), ...extra.destinations };
  writeConfig(
    dir,
    `worker:
  output_root: ${path.join(dir, 'out')}
  log_dir: ${path.join(dir, 'logs')}
  destinations:
${Object.entries(dests).map(([k, v]) => `    ${k}: ${v}`).join('\n')}
  download:
    tempdir: ${path.join(dir, 'tmp')}
  ffmpeg:
    binary: ${extra.ffmpeg ?? FFMPEG}
    ffprobe: ${FFPROBE}
`,
  );
  return dir;
}

/** `drover doctor ARGS`, with none of the caller's DROVER_* settings. */
async function doctor(dir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runDrover(['doctor', ...args], { cwd: dir, env: { DROVER_TOKEN: '', DROVER_CA: '', DROVER_CONFIG: '', DROVER_TIMEOUT: '', ...env } });
}

async function report(dir: string, args: string[], env: Record<string, string> = {}): Promise<Report & { code: number | null; raw: string }> {
  const r = await doctor(dir, [...args, '--json'], env);
  expect(r.stderr).toBe('');
  return { ...(JSON.parse(r.stdout) as Report), code: r.code, raw: r.stdout };
}

const find = (r: Report, check: string) => r.checks.find((c) => c.check === check);

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('drover doctor', () => {
  it('all ok: ffmpeg, ffprobe, every directory, the coordinator, the clock and the worker token', async () => {
    const srv = await coordinator();
    const dir = workerDir();
    const r = await report(dir, ['--server', srv.url, '--token-file', srv.tokens]);
    expect(r.code).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.check)).toEqual(['config', 'ffmpeg', 'ffprobe', 'output_root', 'log_dir', 'destinations.archive', 'download.tempdir', 'coordinator', 'clock', 'token']);
    for (const c of r.checks) expect(c.status, `${c.check}: ${c.message}`).toBe('ok');
    expect(find(r, 'ffmpeg')?.message).toMatch(/^\/usr\/bin\/ffmpeg: ffmpeg version \S+/);
    expect(find(r, 'ffprobe')?.message).toMatch(/^\/usr\/bin\/ffprobe: ffprobe version \S+/);
    expect(find(r, 'destinations.archive')?.message).toMatch(new RegExp(`^${path.join(dir, 'archive')}: writable, \\S+ \\S+ \\(\\d+ %\\) free$`));
    expect(find(r, 'coordinator')?.message).toMatch(new RegExp(`^${srv.url} \\(--server\\): drover \\S+, round trip \\d+`));
    expect(find(r, 'token')?.message).toMatch(/a worker token/);
    // The write test leaves nothing behind; no token is ever shown.
    expect(fs.readdirSync(path.join(dir, 'archive'))).toEqual([]);
    expect(r.raw).not.toContain(WORKER);

    // The same as lines: one per check, status first.
    const human = await doctor(dir, ['--server', srv.url], { DROVER_TOKEN: WORKER });
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    for (const l of lines) expect(l).toMatch(/^ok {4}\S/);
    expect(human.stdout).toMatch(/^ok +token +the token of DROVER_TOKEN is taken for the worker routes \(a worker token\)$/m);
    expect(human.stdout).not.toContain(WORKER);

    // The admin token on a worker works, and is a warning.
    const admin = await report(dir, ['--server', srv.url], { DROVER_TOKEN: ADMIN });
    expect(admin.code).toBe(0);
    expect(find(admin, 'token')).toMatchObject({ status: 'warn', message: expect.stringMatching(/is an admin token/), fix: expect.stringMatching(/worker token/) });
    expect(admin.raw).not.toContain(ADMIN);
  });

  it('a destination that cannot be created (a file on its way, root or not) fails', async () => {
    const srv = await coordinator();
    const base = tempDir('drover-doctor-file-');
    fs.writeFileSync(path.join(base, 'not-a-dir'), 'x');
    const dir = workerDir({ destinations: { broken: path.join(base, 'not-a-dir', 'videos') } });
    const r = await report(dir, ['--server', srv.url, '--token-file', srv.tokens]);
    expect(r.code).toBe(1);
    expect(r.ok).toBe(false);
    expect(find(r, 'destinations.broken')).toMatchObject({
      status: 'fail',
      message: `${path.join(base, 'not-a-dir', 'videos')} cannot be created: ${path.join(base, 'not-a-dir')} is not a directory`,
      fix: expect.stringMatching(/worker\.destinations\.broken/),
    });
    expect(r.checks.filter((c) => c.status !== 'ok').map((c) => c.check)).toEqual(['destinations.broken']);
    const human = await doctor(dir, ['--server', srv.url, '--token-file', srv.tokens]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^FAIL {2}destinations\.broken +\S+ cannot be created: .* -> make .* or point worker\.destinations\.broken elsewhere$/m);
  });

  it('a coordinator nobody listens for fails, and the token is left unchecked', async () => {
    const dir = workerDir();
    const port = await closedPort();
    const r = await report(dir, ['--server', `http://127.0.0.1:${port}`], { DROVER_TOKEN: WORKER });
    expect(r.code).toBe(1);
    expect(find(r, 'coordinator')).toMatchObject({ status: 'fail', message: `http://127.0.0.1:${port}: connection refused (is the server running?)`, fix: expect.stringMatching(/--server, DROVER_SERVER or worker\.server.*now --server/) });
    expect(find(r, 'token')).toMatchObject({ status: 'warn', message: 'not checked: no coordinator answered (the token of DROVER_TOKEN)' });
    expect(find(r, 'clock')).toBeUndefined();
    expect(r.raw).not.toContain(WORKER);
  });

  it('a wrong, a missing, a read-only, another worker\'s and an expired token fail, each said as such', async () => {
    const srv = await coordinator();
    const dir = workerDir();
    const wrong = await report(dir, ['--server', srv.url], { DROVER_TOKEN: 'not-the-token-at-all' });
    expect(wrong.code).toBe(1);
    expect(find(wrong, 'token')).toMatchObject({ status: 'fail', message: 'the coordinator does not know the token of DROVER_TOKEN (wrong, or revoked)' });
    expect(wrong.raw).not.toContain('not-the-token-at-all');
    expect(wrong.checks.filter((c) => c.status !== 'ok').map((c) => c.check)).toEqual(['token']);

    const none = await report(dir, ['--server', srv.url]);
    expect(find(none, 'token')).toMatchObject({ status: 'fail', message: 'no token given, and the coordinator wants one' });

    const api = new DroverClient({ server: srv.url, token: ADMIN });
    onCleanup(() => api.close());
    const read = await api.createToken({ name: 'dash', role: 'read' });
    const ro = await report(dir, ['--server', srv.url], { DROVER_TOKEN: read.secret });
    expect(find(ro, 'token')).toMatchObject({ status: 'fail', message: 'the token of DROVER_TOKEN is a read-only token: the worker routes need a worker token' });
    expect(ro.raw).not.toContain(read.secret);

    // A token made for worker w1 takes that name only: the worker's default name is refused.
    const w1 = await api.createToken({ name: 'w1', role: 'worker' });
    const unnamed = await report(dir, ['--server', srv.url], { DROVER_TOKEN: w1.secret });
    expect(find(unnamed, 'token')).toMatchObject({ status: 'fail', message: expect.stringMatching(/^the token of DROVER_TOKEN: this token is worker w1's: it cannot act as worker \S+/), fix: expect.stringMatching(/--name or worker\.name/) });
    const named = await report(dir, ['--server', srv.url, '--name', 'w1'], { DROVER_TOKEN: w1.secret });
    expect(named.code).toBe(0);
    expect(find(named, 'token')?.status).toBe('ok');
    expect(unnamed.raw + named.raw).not.toContain(w1.secret);

    const old = await api.createToken({ name: 'w-old', role: 'worker', expires: '1s' });
    await waitFor(() => Date.now() > (old.token.expiresAt as number) + 50, 5_000, 'the token to expire');
    const expired = await report(dir, ['--server', srv.url], { DROVER_TOKEN: old.secret });
    expect(expired.code).toBe(1);
    expect(find(expired, 'token')).toMatchObject({ status: 'fail', message: expect.stringMatching(/^the token of DROVER_TOKEN has expired \(token w-old expired at /), fix: expect.stringMatching(/drover token add worker/) });
    expect(expired.raw).not.toContain(old.secret);
  });

  it('an ffmpeg that does not exist fails', async () => {
    const srv = await coordinator();
    const dir = workerDir({ ffmpeg: '/nonexistent/bin/ffmpeg' });
    const r = await report(dir, ['--server', srv.url, '--token-file', srv.tokens]);
    expect(r.code).toBe(1);
    expect(find(r, 'ffmpeg')).toMatchObject({ status: 'fail', message: '/nonexistent/bin/ffmpeg (worker.ffmpeg.binary) does not exist', fix: expect.stringMatching(/worker\.ffmpeg\.binary/) });
    expect(find(r, 'ffprobe')?.status).toBe('ok');
    expect(r.checks.filter((c) => c.status !== 'ok').map((c) => c.check)).toEqual(['ffmpeg']);
  });
});
