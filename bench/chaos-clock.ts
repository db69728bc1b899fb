import fs from 'node:fs';
import path from 'node:path';
import { DroverClient } from '../src/client/drover-client.js';
import { parseConfig } from '../src/config/config.js';
import { startServer } from '../src/coordinator/server.js';
import { silentLogger } from '../src/core/logger.js';
import { SteadyClock } from '../src/core/steady-clock.js';
import { check, enqueueLedgerJobs, setup, sleep, untilFinal, type Row } from './chaos-ledger.js';
import { startDrover, type Proc } from './drover-procs.js';

/**
 * The coordinator's system clock set an hour forwards, then an hour back (two hours), under
 * load: a coordinator in this process whose wall clock is read through an offset set here (the
 * machine's own is not touched), its steadied clock as in production, real workers. No lease
 * may expire for it (0 duplicated), and jobs with a time limit of 2 s that would run 30 s
 * must end timed out after 2 s of the coordinator's time (within the 5 % it slews at).
 */
export async function clockSteps(jobs: number, limited: number): Promise<Row> {
  const { dir, ledger } = setup('clock', '');
  let offset = 0;
  const clock = new SteadyClock({ wall: () => Date.now() + offset });
  const { templates } = parseConfig(fs.readFileSync(path.join(dir, 'drover.yaml'), 'utf8'));
  const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: null, worker: null }, templates: templates.values(), logger: silentLogger(), leaseTtlMs: 3_000, heartbeatIntervalMs: 500, clock });
  const client = new DroverClient({ server: srv.url });
  const workers: Proc[] = [];
  try {
    for (const n of ['w1', 'w2']) workers.push(await startDrover(['worker', '--server', srv.url, '--name', n, '--concurrency', '4', '--output-root', path.join(dir, 'out')], dir, /pulling from/));
    const limitedIds = await client.enqueueManyIds(Array.from({ length: limited }, () => ({ template: 'ledger', params: { seconds: '30' }, timeLimit: '2s', maxAttempts: 1, priority: 10 })));
    const ids = await enqueueLedgerJobs(client, jobs, '1');
    await sleep(3_000);
    offset = 3_600_000;
    await sleep(10_000);
    offset = -3_600_000;
    await untilFinal(client, 300_000);
    const r = await check(client, ledger, ids);
    let held = 0;
    for (const id of limitedIds) {
      const { job, attempts } = await client.get(id);
      const a = attempts[0];
      const ran = a?.endedAt ? a.endedAt - a.startedAt : null;
      if (job.state === 'timed_out' && attempts.length === 1 && ran !== null && ran >= 1_900 && ran < 30_000) held++;
      else process.stderr.write(`chaos: time-limited job ${id} is ${job.state} after ${attempts.length} attempts, ran ${ran} ms\n`);
    }
    return {
      scenario: 'clock +1 h, then -1 h (coordinator)',
      runs: 2,
      jobs,
      lost: r.lost + (limited - held),
      duplicated: r.duplicated,
      maxRecoveryMs: null,
      note: `2 workers × 4 slots, jobs of 1 s, lease 3 s; ${held} of ${limited} time limits of 2 s held${r.notFinal ? `; ${r.notFinal} not final` : ''}`,
    };
  } finally {
    for (const w of workers) await w.stop();
    await client.close();
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
