import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import { parseConfig } from '../../src/config/config.js';
import { startServer } from '../../src/coordinator/server.js';
import type { Attempt, Job } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { SteadyClock } from '../../src/core/steady-clock.js';
import { spawnDrover, writeConfig } from '../support/drover.js';
import { tempDir, waitFor } from '../support/tmp.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TEMPLATES = `
templates:
  nap:
    argv: [sleep, "{s}"]
`;

describe("a step of the coordinator's system clock", () => {
  for (const step of [3_600_000, -3_600_000]) {
    it(`of ${step > 0 ? '+' : '-'}1 h while jobs run: no lease expires, a time limit holds`, async () => {
      const dir = tempDir();
      writeConfig(dir, TEMPLATES);
      // The system clock as the coordinator reads it, set by hand; its monotonic clock is the real one.
      let offset = 0;
      const steps: number[] = [];
      const clock = new SteadyClock({ wall: () => Date.now() + offset, onStep: (ms) => steps.push(ms) });
      const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: parseConfig(TEMPLATES).templates.values(), logger: silentLogger(), leaseTtlMs: 2_000, heartbeatIntervalMs: 300, clock });
      cleanups.push(() => srv.close());
      const api = new ApiClient({ servers: [srv.url] });
      cleanups.push(() => api.close());
      spawnDrover(['worker', '--server', srv.url, '--name', 'w1', '--concurrency', '2'], { cwd: dir });
      const [long, limited] = (await api.post<{ jobs: Job[] }>('/api/v1/jobs', { jobs: [{ template: 'nap', params: { s: '4' } }, { template: 'nap', params: { s: '60' }, timeLimit: '3s' }] })).jobs;
      const shown = (id: string) => api.get<{ job: Job; attempts: Attempt[] }>(`/api/v1/jobs/${id}`);
      await waitFor(async () => (await shown(long!.id)).job.state === 'running' && (await shown(limited!.id)).job.state === 'running', 30_000, 'both running');
      offset = step;
      await waitFor(async () => ['succeeded', 'failed', 'timed_out'].includes((await shown(long!.id)).job.state) && (await shown(limited!.id)).job.state === 'timed_out', 60_000, 'both over');
      // A 2 s lease through a step of an hour: it ran once, to its end.
      const a = await shown(long!.id);
      expect(a.job.state).toBe('succeeded');
      expect(a.attempts.map((t) => t.outcome)).toEqual(['succeeded']);
      // The limit of 3 s, as long on the coordinator's clock (within the 5 % it slews at while
      // it closes the gap): neither cut at the step nor an hour off.
      const b = await shown(limited!.id);
      expect(b.attempts).toHaveLength(1);
      const ran = (b.attempts[0]!.endedAt ?? 0) - b.attempts[0]!.startedAt;
      expect(ran).toBeGreaterThanOrEqual(2_850);
      expect(ran).toBeLessThan(60_000);
      expect(steps.map((ms) => Math.round(ms / 1_000) * 1_000)).toEqual([step]);
    });
  }
});
