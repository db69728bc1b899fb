import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import type { Job, Progress } from '../../src/core/job.js';
import { ExecRunner } from '../../src/runners/exec/exec-runner.js';
import { resolveOutdir, sanitizeSegment } from '../../src/runners/exec/outdir.js';
import type { RunContext } from '../../src/runners/runner.js';
import { tempDir } from '../support/tmp.js';

const ARGS = `${JSON.stringify(process.execPath)}, -e, "console.log(JSON.stringify(process.argv.slice(1))); console.log('pw is ' + process.argv[2]); process.exit(Number(process.env.CODE || 0))"`;
const { templates } = parseConfig(`
templates:
  echo:
    argv: [${ARGS}, "{server}", "{password}", "{note}"]
    secrets: [password]
    outdir: "{server}_{id}"
    env: { CODE: "{code}" }
    params:
      note: { default: "none" }
      code: { default: "0" }
`);
const echo = templates.get('echo')!;

function job(params: Job['params']): Job {
  const now = Date.now();
  return {
    id: 'job1', queue: 'default', kind: 'exec', template: 'echo', params, secrets: ['password'], owner: null, tags: [], priority: 0,
    state: 'running', runAt: now, attempt: 1, maxAttempts: 3, backoffMs: 5000, backoffMaxMs: 600000, timeLimitMs: null,
    concurrencyKey: null, concurrencyLimit: null, lease: null, stopReason: null, progress: null, result: null, error: null,
    createdAt: now, updatedAt: now, startedAt: now, finishedAt: null,
  };
}

function context(j: Job, root: string, signal = new AbortController().signal) {
  const logs: string[] = [];
  const progress: Progress[] = [];
  const ctx: RunContext = { job: j, template: echo, signal, progress: (p) => progress.push(p), log: (_s, t) => logs.push(t), outputRoot: root, logDir: path.join(root, 'logs') };
  return { ctx, logs, progress };
}

describe('ExecRunner', () => {
  it('builds argv from the template (values with spaces and shell syntax arrive verbatim) and succeeds on exit 0', async () => {
    const root = tempDir();
    const { ctx, logs } = context(job({ server: 'nvr 1; rm -rf /', password: 'hunter2' }), root);
    const r = await new ExecRunner().run(ctx);
    expect(r.outcome).toBe('succeeded');
    const out = logs.join('');
    expect(out).toContain('["nvr 1; rm -rf /","***","none"]');
    expect(out).not.toContain('hunter2');
    expect(out).toMatch(/^\$ .*'nvr 1; rm -rf \/' \*\*\* none\n/m);
    const outdir = (r.result as { outdir: string }).outdir;
    expect(outdir).toBe(path.join(root, 'nvr 1; rm -rf __job1'));
    expect(fs.statSync(outdir).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(root, 'logs', 'job1.log'), 'utf8')).not.toContain('hunter2');
  });

  it('fails without retry, naming the param, when one is missing', async () => {
    const { ctx } = context(job({ server: 'a' }), tempDir());
    const r = await new ExecRunner().run(ctx);
    expect(r).toMatchObject({ outcome: 'failed', retryable: false });
    expect(r.error).toMatch(/missing param "password"/);
  });

  it('fails with the exit code and the last lines of output, secrets redacted', async () => {
    const { ctx } = context(job({ server: 'a', password: 'hunter2', code: 3 }), tempDir());
    const r = await new ExecRunner().run(ctx);
    expect(r.outcome).toBe('failed');
    expect(r.retryable).toBe(true);
    expect(r.error).toMatch(/^exit code 3; last output:\n.*pw is \*\*\*/s);
    expect(r.error).not.toContain('hunter2');
  });

  it('keeps outdirs inside the output root whatever the params say', () => {
    const root = tempDir();
    expect(resolveOutdir(root, '{server}_{id}', { server: '../../etc', id: 'x' })).toBe(path.join(root, '___.._etc_x'));
    expect(resolveOutdir(root, '{a}/{b}', { a: '..', b: '.hidden' })).toBe(path.join(root, '__', '_hidden'));
    expect(() => resolveOutdir(root, '../{a}', { a: 'x' })).toThrow(/outside the output root/);
    expect(sanitizeSegment('a\u0000b\nc')).toBe('abc');
  });

  it('maps an abort to the outcome: timed_out and canceled', async () => {
    for (const reason of ['timed_out', 'canceled'] as const) {
      const ac = new AbortController();
      const { templates: t } = parseConfig(`templates:\n  sleep:\n    argv: [/bin/sh, -c, "sleep 1000"]\n    kill_grace: 200ms\n`);
      const j = { ...job({}), template: 'sleep', timeLimitMs: 1000 };
      const ctx: RunContext = { job: j, template: t.get('sleep')!, signal: ac.signal, progress: () => {}, log: () => {}, outputRoot: tempDir(), logDir: tempDir() };
      const run = new ExecRunner().run(ctx);
      setTimeout(() => ac.abort(reason), 200);
      const r = await run;
      expect(r.outcome).toBe(reason);
      if (reason === 'timed_out') expect(r.error).toMatch(/time limit of 1 s reached/);
    }
  });
});
