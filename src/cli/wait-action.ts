import logUpdate from 'log-update';
import { parseTime } from '../core/duration.js';
import { sleepFor } from '../core/long-timeout.js';
import type { CountFilter } from '../core/job-filter.js';
import { ACTIVE_STATES } from '../core/job.js';
import { withClient } from './client-context.js';
import type { ClientFlags } from './flags.js';
import { countsLine, describeFilter, formatProgress, jobTime, jobWhat, oneLine, table } from './format.js';

interface WaitFlags extends ClientFlags {
  owner?: string;
  queue?: string;
  tag?: string;
  template?: string;
  interval?: string;
  quiet?: boolean;
  since?: string;
}

/** Running jobs shown in the live display at most. */
const SHOWN = 15;

export async function waitAction(f: WaitFlags): Promise<void> {
  await withClient(f, async (api) => {
    const filter: CountFilter = {};
    for (const k of ['owner', 'queue', 'tag', 'template'] as const) if (f[k]) filter[k] = f[k];
    const interval = Math.max(100, Number(f.interval ?? 1000) || 1000);
    const live = process.stdout.isTTY && !f.quiet;
    const since = f.since === undefined ? 0 : parseTime(f.since, '--since', Date.now(), -1);
    let lastLine = '';
    for (let first = true; ; first = false) {
      const counts = await api.counts(filter);
      // A filter nothing matches is most likely a typo: say so, instead of waiting on nothing.
      if (first && Object.keys(filter).length > 0 && Object.values(counts).every((n) => n === 0)) {
        process.stderr.write(`drover: no jobs match ${describeFilter(filter)}\n`);
        process.exitCode = 2;
        return;
      }
      // A parent waiting for its children is not done either.
      const active = ACTIVE_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0);
      if (live || !f.quiet) {
        const running = counts.running > 0 ? (await api.list({ ...filter, state: ['running'], limit: SHOWN })).jobs : [];
        const now = Date.now();
        const head = countsLine(counts);
        if (live) {
          const rows = running.map((j) => [j.id, jobWhat(j), j.lease?.worker ?? '', jobTime(j, now), oneLine(formatProgress(j.progress), 60)]);
          logUpdate(head + (rows.length ? '\n' + table(['ID', 'KIND', 'WORKER', 'TIME', 'PROGRESS'], rows) : '') + (counts.running > SHOWN ? `\n… and ${counts.running - SHOWN} more running` : ''));
        } else if (head !== lastLine) {
          process.stdout.write(`${new Date().toISOString()} ${head}\n`);
          lastLine = head;
        }
      }
      if (active === 0) break;
      // Any length: --interval is the user's, and a plain setTimeout past 24.8 days fires at once.
      await sleepFor(interval);
    }
    if (live) logUpdate.done();
    const bad = await api.list({ ...filter, state: ['failed', 'timed_out'], finishedSince: since, limit: 1000 });
    if (bad.jobs.length > 0) {
      process.stdout.write(`${bad.jobs.length}${bad.jobs.length === 1000 ? '+' : ''} job(s) failed or timed out:\n`);
      for (const j of bad.jobs.slice(0, 20)) process.stdout.write(`  ${j.id} ${j.state}: ${oneLine(j.error ?? '', 100)}\n`);
      process.exitCode = 1;
    }
  });
}

