import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import type { LeasedJob, Progress } from '../../src/core/job.js';
import { formatCommandLine } from '../../src/supervise/command-line.js';
import { ExecRunner } from '../../src/runners/exec/exec-runner.js';
import type { AbortReason, RunContext } from '../../src/runners/runner.js';
import { resolveOutdir, sanitizeSegment } from '../../src/runners/shared/outdir.js';
import type { Template } from '../../src/runners/template.js';
import { tempDir, waitFor } from '../support/tmp.js';
import { killAfter, readPids, running } from '../supervise/procs.js';

const TREE = path.resolve(import.meta.dirname, '../fixtures/tree.sh');
const NODE = JSON.stringify(process.execPath);
/** Prints its args, cwd and $GREETING, saves the args to args.json, prints N lines, exits $CODE. */
const PROBE = JSON.stringify(
  [
    'const fs = require("fs"); const a = process.argv.slice(1);',
    'fs.writeFileSync("args.json", JSON.stringify(a));',
    'console.log("ARGS " + JSON.stringify(a)); console.log("CWD " + process.cwd()); console.error("ENV " + process.env.GREETING);',
    'for (let i = 0; i < Number(process.env.LINES); i++) console.log("line " + i + " pw " + a[1]);',
    'process.exit(Number(process.env.CODE));',
  ].join(' '),
);
const { templates } = parseConfig(`
templates:
  probe:
    argv: [${NODE}, -e, ${PROBE}, "{server}", "--password={password}", "{note}", "{id}", "{attempt}", "{template}", "{queue}", "{owner}", "{outdir}"]
    secrets: [password]
    outdir: "{server}_{id}"
    env: { CODE: "{code}", LINES: "{lines}", GREETING: "hello {server}" }
    params:
      note: { default: "none" }
      code: { default: "0" }
      lines: { default: 0 }
  ticker:
    argv: [${NODE}, -e, "let i = 0; const t = setInterval(() => (console.log('tick ' + i + ' ' + process.argv[1] + ' ' + 'x'.repeat(300)), ++i === 120 && clearInterval(t)), 10)", "{password}"]
    secrets: [password]
  tree:
    argv: [/bin/sh, ${JSON.stringify(TREE)}]
    env: { PIDFILE: "{pidfile}" }
    kill_grace: 300ms
  quiet:
    argv: [/bin/sh, ${JSON.stringify(TREE)}]
    env: { PIDFILE: "{pidfile}" }
    kill_grace: 300ms
    stall_timeout: 1s
  missing:
    argv: [no-such-hikload, "--server={server}"]
`);
const tpl = (name: string): Template => templates.get(name)!;

function job(params: LeasedJob['params'], over: Partial<LeasedJob> = {}): LeasedJob {
  const now = Date.now();
  return {
    id: 'job1', queue: 'default', kind: 'exec', template: 'probe', params, secrets: ['password'], owner: null, tags: [], priority: 0,
    attempt: 1, maxAttempts: 3, timeLimitMs: null, createdAt: now, lease: { worker: 'w', token: 't', expiresAt: now + 30_000 }, ...over,
  };
}

function context(j: LeasedJob, template: Template | null, signal = new AbortController().signal) {
  const root = tempDir();
  const logs: Array<{ stream: string; text: string }> = [];
  const progress: Array<Progress & { at: number }> = [];
  const ctx: RunContext = {
    job: j, template, signal, outputRoot: path.join(root, 'out'), logDir: path.join(root, 'logs'),
    progress: (p) => progress.push({ ...p, at: Date.now() }),
    log: (stream, text) => logs.push({ stream, text }),
  };
  const text = () => logs.map((l) => l.text).join('');
  return { ctx, logs, progress, text, root };
}

describe('ExecRunner', () => {
  it('builds argv from the template without a shell: values with spaces and shell syntax arrive verbatim', async () => {
    const server = `nvr 1; rm -rf / $(id) 'q' "dq"`;
    const { ctx, logs, text } = context(job({ server, password: 'hunter2' }, { queue: 'nvr' }), tpl('probe'));
    const r = await new ExecRunner().run(ctx);
    expect(r).toEqual({ outcome: 'succeeded', result: { exitCode: 0, outdir: expect.any(String) } });
    const outdir = (r.result as { outdir: string }).outdir;
    expect(outdir).toBe(path.join(ctx.outputRoot, `nvr 1; rm -rf _ $(id) 'q' "dq"_job1`));
    const expected = [server, '--password=hunter2', 'none', 'job1', '1', 'probe', 'nvr', '', outdir];
    expect(JSON.parse(fs.readFileSync(path.join(outdir, 'args.json'), 'utf8'))).toEqual(expected);
    expect(logs).toContainEqual({ stream: 'stdout', text: `ARGS ${JSON.stringify(expected).replace('hunter2', '***')}\n` });
    expect(logs).toContainEqual({ stream: 'stdout', text: `CWD ${outdir}\n` });
    expect(logs).toContainEqual({ stream: 'stderr', text: `ENV hello ${server}\n` });
    const command = logs.find((l) => l.stream === 'drover')!.text;
    expect(command).toMatch(/^\$ /);
    expect(command).toContain(` 'nvr 1; rm -rf / $(id) '\\''q'\\'' "dq"' --password=*** none job1 1 probe nvr '' `);
    expect(text()).not.toContain('hunter2');
  });

  it('keeps secrets out of the command line, the job log, the local log file and progress', async () => {
    const { ctx, text, progress } = context(job({ server: 'a', password: 'hunter2', lines: 3 }), tpl('probe'));
    const r = await new ExecRunner().run(ctx);
    expect(r.outcome).toBe('succeeded');
    expect(text()).toContain('line 2 pw --password=***');
    const local = fs.readFileSync(path.join(ctx.logDir, 'job1.log'), 'utf8');
    expect(local).toMatch(/^\[drover\] attempt 1: \$ .* --password=\*\*\* none job1/);
    expect(local).toContain('line 2 pw --password=***\n');
    for (const s of [text(), local, JSON.stringify(progress), JSON.stringify(r)]) expect(s).not.toContain('hunter2');
    expect(formatCommandLine(['x', 'a hunter2 b', '--pw=hunter2'], (t) => t.split('hunter2').join('***'))).toBe(`x 'a '***' b' --pw=***`);
  });

  it('hides a 1-, 2- or 3-character password where it stands, and leaves every other word as it was', async () => {
    for (const pw of ['x', 'ex', 'exp']) {
      const { ctx, text } = context(job({ server: 'nvr-exports', password: pw, lines: 1, note: `/srv/exports/${pw}` }), tpl('probe'));
      const r = await new ExecRunner().run(ctx);
      expect(r.outcome).toBe('succeeded');
      const log = text();
      expect(log).toContain('line 0 pw --password=***');
      expect(log).toContain(' nvr-exports --password=*** /srv/exports/*** job1 ');
      expect(log).toContain('"nvr-exports","--password=***","/srv/exports/***"');
      expect(log).not.toMatch(/e\*\*\*ports|\*\*\*ports|nvr-\*\*\*/);
      expect(fs.readFileSync(path.join(ctx.logDir, 'job1.log'), 'utf8')).toContain('--password=*** /srv/exports/***');
    }
  });

  it('fails without retry when the job has no template or a param is missing', async () => {
    expect(await new ExecRunner().run(context(job({}), null).ctx)).toEqual({ outcome: 'failed', error: 'job has no template', retryable: false });
    const { ctx } = context(job({ server: 'a' }), tpl('probe'));
    const r = await new ExecRunner().run(ctx);
    expect(r).toMatchObject({ outcome: 'failed', retryable: false });
    expect(r.error).toMatch(/missing param "password"/);
  });

  it('creates the outdir inside the output root whatever the params say', async () => {
    for (const server of ['../../etc', '/etc/passwd', '..', '.hidden', 'a\tb\nc\\d']) {
      const { ctx } = context(job({ server, password: 'p' }), tpl('probe'));
      const r = await new ExecRunner().run(ctx);
      expect(r.outcome).toBe('succeeded');
      const outdir = (r.result as { outdir: string }).outdir;
      const rel = path.relative(ctx.outputRoot, outdir);
      expect(rel.startsWith('..') || path.isAbsolute(rel) || rel.includes(path.sep) || rel.startsWith('.')).toBe(false);
      expect(fs.statSync(outdir).isDirectory()).toBe(true);
    }
  });

  it('resolveOutdir sanitises each value as one segment and refuses to leave the root', () => {
    const root = tempDir();
    expect(resolveOutdir(root, '{server}_{id}', { server: '../../etc', id: 'x' })).toBe(path.join(root, '___.._etc_x'));
    expect(resolveOutdir(root, '{a}/{b}', { a: '..', b: '.hidden' })).toBe(path.join(root, '__', '_hidden'));
    expect(resolveOutdir(root, '{a}', { a: '/abs/path' })).toBe(path.join(root, '_abs_path'));
    expect(() => resolveOutdir(root, '../{a}', { a: 'x' })).toThrow(/outside the output root/);
    expect(() => resolveOutdir(root, '/tmp/{a}', { a: 'x' })).toThrow(/outside the output root/);
    expect(() => resolveOutdir(root, '.', {})).toThrow(/the output root itself/);
    expect(() => resolveOutdir(root, '{a}', {})).toThrow(/missing param "a"/);
    expect(sanitizeSegment('a\u0000b\nc')).toBe('abc');
    expect(sanitizeSegment('')).toBe('_');
  });

  it('fails with the exit code and the last lines of output, secrets redacted', async () => {
    const { ctx } = context(job({ server: 'a', password: 'hunter2', code: 3, lines: 100 }), tpl('probe'));
    const r = await new ExecRunner().run(ctx);
    expect(r).toMatchObject({ outcome: 'failed', retryable: true, result: { exitCode: 3, signal: null } });
    expect(r.error).toMatch(/^exit code 3; last output:\n/);
    const tail = r.error!.split('\n').slice(1);
    expect(tail.length).toBeLessThanOrEqual(20);
    // stdout and stderr are separate pipes, so a stderr line may land after the last stdout one.
    expect(tail.filter((l) => l.startsWith('line ')).at(-1)).toBe('line 99 pw --password=***');
    expect(r.error!.length).toBeLessThanOrEqual(4096 + 100);
    expect(r.error).not.toContain('hunter2');
  });

  it('reports the last output line as progress, redacted, at most 200 characters, at most every 500 ms', async () => {
    const { ctx, progress } = context(job({ password: 'hunter2' }, { template: 'ticker' }), tpl('ticker'));
    const r = await new ExecRunner().run(ctx);
    expect(r.outcome).toBe('succeeded');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const p of progress) {
      expect(p.message).toMatch(/^tick \d+ \*\*\* x+$/);
      expect(p.message!.length).toBeLessThanOrEqual(200);
    }
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.at - progress[i - 1]!.at).toBeGreaterThanOrEqual(490);
    expect(JSON.stringify(progress)).not.toContain('hunter2');
  });

  it('fails without retry and names the binary when the command is not found', async () => {
    const { ctx, text } = context(job({ server: 'a' }, { template: 'missing', secrets: [] }), tpl('missing'));
    const r = await new ExecRunner().run(ctx);
    expect(r).toEqual({ outcome: 'failed', error: 'cannot start "no-such-hikload": not found on PATH', retryable: false });
    expect(text()).toContain('cannot start "no-such-hikload"');
  });

  it.each<[AbortReason, string, boolean | undefined]>([
    ['timed_out', 'timed_out', undefined],
    ['canceled', 'canceled', undefined],
    ['shutdown', 'failed', true],
  ])('maps an abort (%s) to the outcome and leaves no process of the group', async (reason, outcome, retryable) => {
    const pidFile = path.join(tempDir(), 'pids');
    killAfter(() => readPids(pidFile));
    const ac = new AbortController();
    const { ctx, text } = context(job({ pidfile: pidFile }, { template: 'tree', secrets: [], timeLimitMs: 1000 }), tpl('tree'), ac.signal);
    const run = new ExecRunner().run(ctx);
    await waitFor(() => text().includes('tree started\n'), 10_000, 'the tree to start');
    const pids = readPids(pidFile);
    expect(pids.every(running)).toBe(true);
    ac.abort(reason);
    const r = await run;
    expect(r.outcome).toBe(outcome);
    expect(r.retryable).toBe(retryable);
    expect(r.result).toMatchObject({ signal: 'SIGKILL' });
    if (reason === 'timed_out') expect(r.error).toMatch(/time limit of 1 s reached/);
    await waitFor(() => pids.every((pid) => !running(pid)), 5_000, 'every process of the group gone');
    expect(fs.existsSync(path.join(ctx.logDir, 'running', 'job1.pid'))).toBe(false);
  });

  it('stops a command that prints nothing for stall_timeout, with its whole group', async () => {
    const pidFile = path.join(tempDir(), 'pids');
    killAfter(() => readPids(pidFile));
    const { ctx, text } = context(job({ pidfile: pidFile }, { template: 'quiet', secrets: [] }), tpl('quiet'));
    const run = new ExecRunner().run(ctx);
    await waitFor(() => text().includes('tree started\n'), 10_000, 'the tree to start');
    const pids = readPids(pidFile);
    const t0 = Date.now();
    const r = await run;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(r).toMatchObject({ outcome: 'failed', error: 'stopped: no output for 1 s', retryable: true });
    await waitFor(() => pids.every((pid) => !running(pid)), 5_000, 'every process of the group gone');
  });

  it('rotates the job\'s log file by size and keeps the configured backups', async () => {
    const { ctx } = context(job({ password: 'pw' }, { template: 'ticker', secrets: ['password'] }), tpl('ticker'));
    const r = await new ExecRunner({ mode: 'size', maxBytes: 4096, backups: 2 }).run(ctx);
    expect(r.outcome).toBe('succeeded');
    const files = fs.readdirSync(ctx.logDir).filter((n) => n.startsWith('job1.log')).sort();
    expect(files).toEqual(['job1.log', 'job1.log.1', 'job1.log.2']);
    for (const f of files) expect(fs.statSync(path.join(ctx.logDir, f)).size).toBeLessThanOrEqual(4096);
    expect(fs.readFileSync(path.join(ctx.logDir, 'job1.log'), 'utf8')).toMatch(/tick 119 \*\*\* x+\n$/);
  });
});
