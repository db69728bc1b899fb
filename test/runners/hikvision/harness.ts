import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { LeasedJob, Params, Progress } from '../../../src/core/job.js';
import { HikvisionRunner } from '../../../src/runners/hikvision/hikvision-runner.js';
import { HIKVISION_DEFAULTS } from '../../../src/runners/hikvision/settings.js';
import type { RunContext } from '../../../src/runners/runner.js';
import { filesBelow } from '../../segments/tree-fixture.js';
import { startIsapiSim, type SimClip, type SimOptions } from '../../support/isapi-sim.js';
import { onCleanup, tempDir } from '../../support/tmp.js';

/** A clip's own time as the simulator gives it: `2021-08-18T01:00:00Z`. */
export const utc = (iso: string) => iso.replace('.000', '');
/** A clip of `track` starting at `startUtc`, `minutes` long, of random bytes. */
export function at(track: string, startUtc: string, minutes = 10): SimClip {
  const t = Date.parse(startUtc);
  return { track, start: utc(new Date(t).toISOString()), end: utc(new Date(t + minutes * 60_000).toISOString()), data: randomBytes(50_000 + Math.floor(Math.random() * 1000)) };
}

/** A simulated NVR with `clips` and a runner into a fresh archive; `go` runs a job of `params` (and `extra`). */
export async function run(params: Params, clips: SimClip[], o: SimOptions = {}) {
  const sim = await startIsapiSim(clips, o);
  onCleanup(() => sim.close());
  const archive = tempDir('drover-nvr-archive-');
  const runner = new HikvisionRunner({ ...HIKVISION_DEFAULTS, backoffMs: 10, destinations: new Map([['archive', archive]]) });
  const progress: Progress[] = [];
  const logs: string[] = [];
  /** Runs a job of exactly these params (a child's). */
  const exec = async (jobParams: Params, stop?: AbortController) => {
    const ctx: RunContext = {
      job: { id: 'job1', kind: 'hikvision', template: null, secrets: ['password'], tags: [], params: jobParams, attempt: 1 } as unknown as LeasedJob,
      template: null,
      signal: (stop ?? new AbortController()).signal,
      progress: (p) => {
        progress.push(p);
        // Canceled once a clip is in: the job stops with what it delivered.
        if (stop && ((p as { clipsDone?: number }).clipsDone ?? 0) >= 1 && !stop.signal.aborted) stop.abort('canceled');
      },
      log: (_s, t) => logs.push(t),
      outputRoot: archive,
      logDir: archive,
    };
    return runner.run(ctx);
  };
  const go = (extra: Params = {}, stop?: AbortController) => exec({ server: sim.url, user: 'admin', password: 'secret', dest: 'archive', ...params, ...extra }, stop);
  /** The files below the device's folder. */
  const delivered = () => filesBelow(path.join(archive, new URL(sim.url).host.replace(':', '_')));
  return { sim, archive, go, exec, progress, logs, delivered };
}

