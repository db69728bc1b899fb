import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecRunner } from '../../src/runners/exec/exec-runner.js';
import type { RunResult } from '../../src/runners/runner.js';
import { sandbox, show, traversalCorpus } from '../support/traversal-corpus.js';
import { tempDir } from '../support/tmp.js';
import { coordinator, leased, shownPart } from './traversal-kit.js';

// Template params that end up in file paths, each value of the traversal corpus: refused at
// enqueue with a message naming the param and the value, or, when taken, refused again or
// written inside the output root by the worker's own runner, a real command run.

const yaml = `
templates:
  touch:
    argv: [touch, "{outdir}/{name}"]
  nested:
    argv: [sh, -c, 'mkdir -p "$(dirname "$0")" && touch "$0"', "{outdir}/{sub}"]
    params:
      sub: { type: path }
  bycamera:
    argv: [touch, "{outdir}/out.txt"]
    outdir: "{camera}/{id}"
  incwd:
    argv: [touch, here.txt]
    cwd: "{dir}"
`;

const cases = [
  { template: 'touch', param: 'name' },
  { template: 'nested', param: 'sub' },
  { template: 'bycamera', param: 'camera' },
  { template: 'incwd', param: 'dir' },
];

describe('template params from outside, against the traversal corpus', () => {
  it('are refused naming the param and value, or run with every file inside the output root', async () => {
    const box = sandbox(tempDir('drover-trav-tpl-'));
    const c = await coordinator(yaml);
    const runner = new ExecRunner();
    const logDir = tempDir('drover-trav-logs-');
    const corpus = traversalCorpus(box.outside);
    for (const { template, param } of cases) {
      const t = c.templates.get(template)!;
      for (const { label, value } of corpus) {
        const what = `${template} ${param}=${show(value)} (${label})`;
        const at = await c.enqueue({ template, params: { [param]: value } });
        const job = leased({ [param]: value }, { template: t });
        const ran: RunResult = await runner.run({ job, template: t, signal: new AbortController().signal, outputRoot: box.root, logDir, progress: () => {}, log: () => {} });
        if (at.status !== 201) {
          expect(at.status, what).toBe(400);
          expect(at.message, what).toMatch(new RegExp(`^params\\.${param}: `));
          expect(at.message, what).toContain(shownPart(value));
        }
        // The worker checks against its own template, whatever the coordinator let through: a
        // typed param is refused again, naming it; a value that is taken runs (a path the
        // command cannot make, such as one ending in /, is the command's own failure).
        if (ran.outcome !== 'succeeded') {
          expect(ran.outcome, what).toBe('failed');
          if (/^params\./.test(ran.error ?? '')) expect(ran, what).toMatchObject({ retryable: false, error: expect.stringMatching(new RegExp(`^params\\.${param}: `)) });
          else expect(ran.error, what).toMatch(/^exit code 1; /);
        }
        if (at.status === 201 && t.params[param]?.type !== 'string') expect(ran.error ?? '', what).not.toMatch(/^params\./);
        box.unchanged(what);
      }
    }
    // What was written is below the root, by its real path.
    const written: string[] = [];
    const walk = (d: string) => {
      for (const n of fs.readdirSync(d)) {
        const full = path.join(d, n);
        if (fs.lstatSync(full).isDirectory()) walk(full);
        else written.push(full);
      }
    };
    walk(box.root);
    expect(written.length).toBeGreaterThan(20);
    for (const f of written) box.inside(f, f);
  });
});
