import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Params } from '../../src/core/job.js';
import { HikvisionRunner } from '../../src/runners/hikvision/hikvision-runner.js';
import { HIKVISION_DEFAULTS } from '../../src/runners/hikvision/settings.js';
import type { RunResult } from '../../src/runners/runner.js';
import { at } from '../runners/hikvision/harness.js';
import { startIsapiSim, type SimOptions } from '../support/isapi-sim.js';
import { listTree, sandbox, show, traversalCorpus } from '../support/traversal-corpus.js';
import { onCleanup, tempDir } from '../support/tmp.js';
import { coordinator, leased, shownPart } from './traversal-kit.js';

// Hikvision downloads: a clip's file name and track id come from the device's answers, the
// name pattern from the job. A simulated NVR answers every value of the traversal corpus;
// every clip lands below the destination, nothing anywhere else.

const DAY = { start: '2021-08-18T00:00:00', end: '2021-08-18T23:59:59' };

async function device(box: ReturnType<typeof sandbox>, count: number, o: SimOptions = {}) {
  const clips = Array.from({ length: count }, (_, i) => at('101', new Date(Date.parse('2021-08-18T01:00:00Z') + i * 60_000).toISOString(), 1));
  const sim = await startIsapiSim(clips, o);
  onCleanup(() => sim.close());
  const archive = path.join(box.root, 'archive');
  fs.mkdirSync(archive, { recursive: true });
  const runner = new HikvisionRunner({ ...HIKVISION_DEFAULTS, backoffMs: 1, retries: 0, destinations: new Map([['archive', archive]]) });
  const run = (params: Params): Promise<RunResult> =>
    runner.run({ job: leased({ server: sim.url, user: 'admin', password: 'secret', dest: 'archive', ...DAY, ...params }, { kind: 'hikvision' }), template: null, signal: new AbortController().signal, outputRoot: box.root, logDir: box.root, progress: () => {}, log: () => {} });
  return { sim, archive, run, folder: path.join(archive, new URL(sim.url).host.replace(':', '_')) };
}

/** Every regular file below `dir`, absolute. */
function filesUnder(dir: string): string[] {
  return listTree(dir).filter((p) => !p.endsWith('/') && !p.includes(' -> ')).map((p) => path.join(dir, p));
}

describe('hikvision file names from the device and the job, against the traversal corpus', () => {
  it("a device's file names and track ids: every clip delivered below the device's folder", async () => {
    const box = sandbox(tempDir('drover-trav-nvr-'));
    const corpus = traversalCorpus(box.outside).map((c) => c.value);
    const nvr = await device(box, corpus.length, { fileNames: corpus, trackIds: corpus });
    for (const layout of ['flat', 'oneperday']) {
      const res = await nvr.run({ name: '{name}', layout, cameras: '101', dest: `archive:${layout}` });
      expect(res.error?.slice(-300), layout).toBeUndefined();
      expect(res.outcome, layout).toBe('succeeded');
      box.unchanged(layout);
    }
    for (const layout of ['flat', 'oneperday']) {
      const files = filesUnder(path.join(nvr.archive, layout, path.basename(nvr.folder)));
      expect(files.length, layout).toBeGreaterThan(corpus.length / 2);
      for (const f of files) box.inside(f, f);
      // And nothing beside the device's folder.
      expect(fs.readdirSync(path.join(nvr.archive, layout)), layout).toEqual([path.basename(nvr.folder)]);
    }
  });

  it("the job's name pattern: refused at enqueue naming params.name, or a file below the device's folder", async () => {
    const box = sandbox(tempDir('drover-trav-nvrname-'));
    const c = await coordinator();
    const nvr = await device(box, 1);
    for (const { label, value } of traversalCorpus(box.outside)) {
      const what = `name=${show(value)} (${label})`;
      const params = { name: value, cameras: '101', skip_existing: 'false' };
      const enq = await c.enqueue({ kind: 'hikvision', params: { server: nvr.sim.url, user: 'admin', password: 'secret', ...DAY, ...params } });
      const res = await nvr.run(params);
      if (enq.status !== 201) {
        expect(enq.status, what).toBe(400);
        expect(enq.message, what).toMatch(/^params\.name: /);
        expect(enq.message, what).toContain(shownPart(value));
        if (!value.includes('\0')) expect(res, what).toMatchObject({ outcome: 'failed', retryable: false, error: expect.stringMatching(/^params\.name: /) });
      } else {
        expect(res.error, what).toBeUndefined();
        expect(res.outcome, what).toBe('succeeded');
      }
      box.unchanged(what);
    }
    for (const f of filesUnder(nvr.folder)) box.inside(f, f);
  });

  it("a symbolic link in the destination where the device's folder goes, pointing outside, is never written through", async () => {
    const box = sandbox(tempDir('drover-trav-nvrlink-'));
    const nvr = await device(box, 2);
    fs.symlinkSync(box.outside, nvr.folder);
    const res = await nvr.run({ cameras: '101', layout: 'onepercamera' });
    box.unchanged('link');
    expect(res).toMatchObject({ outcome: 'failed', retryable: false });
    expect(res.error).toMatch(/leaves the destination archive through a symbolic link/);
  });

  it("a symbolic link where a clip's part file goes is removed, not written through", async () => {
    const box = sandbox(tempDir('drover-trav-nvrpart-'));
    const nvr = await device(box, 1);
    fs.mkdirSync(path.join(nvr.folder, '101'), { recursive: true });
    fs.symlinkSync(path.join(box.outside, 'keep'), path.join(nvr.folder, '101', '20210818010000-101.mp4.part'));
    const res = await nvr.run({ cameras: '101', layout: 'onepercamera' });
    expect(res.outcome).toBe('succeeded');
    box.unchanged('part link');
    expect(fs.readFileSync(path.join(box.outside, 'keep'), 'utf8')).toBe('keep');
    expect(fs.lstatSync(path.join(nvr.folder, '101', '20210818010000-101.mp4')).isFile()).toBe(true);
  });
});
