import { Command } from 'commander';
import logUpdate from 'log-update';
import { parseDuration } from '../core/duration.js';
import type { Job, JobState } from '../core/job.js';
import { addClientFlags, withClient, type ClientFlags } from './context.js';
import { countsLine, formatProgress, jobTime, jobWhat, oneLine, table } from './format.js';

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

/**
 * `drover wait`: a live display until no matching job is waiting, queued or running. The exit
 * status is 1 when a matching job is failed or timed out (with --since, one that finished since
 * then); else 0.
 */
export function registerWaitCommand(program: Command): void {
  addClientFlags(program.command('wait'))
    .description('show live progress until nothing is waiting, queued or running; exit 1 if any job failed or timed out')
    .option('--owner <name>', 'only this owner')
    .option('--queue <name>', 'only this queue')
    .option('--tag <tag>', 'only jobs with this tag')
    .option('--template <name>', 'only this template')
    .option('--interval <ms>', 'refresh period in ms (default 1000)')
    .option('--quiet', 'no live display; just wait')
    .option('--since <time>', 'count only failures since this time (ISO 8601) or this long ago (e.g. 30m)')
    .action(async (f: WaitFlags) => {
      await withClient(f, async (api) => {
        const filter = new URLSearchParams();
        for (const k of ['owner', 'queue', 'tag', 'template'] as const) if (f[k]) filter.set(k, f[k] as string);
        const interval = Math.max(100, Number(f.interval ?? 1000) || 1000);
        const live = process.stdout.isTTY && !f.quiet;
        const since = f.since === undefined ? 0 : sinceOf(f.since);
        let lastLine = '';
        for (;;) {
          const { counts } = await api.get<{ counts: Record<JobState, number> }>(`/api/v1/jobs/counts?${filter}`);
          const active = counts.waiting + counts.queued + counts.running;
          if (live || !f.quiet) {
            const running = counts.running > 0 ? (await api.get<{ jobs: Job[] }>(`/api/v1/jobs?${withParams(filter, { state: 'running', limit: String(SHOWN) })}`)).jobs : [];
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
          await new Promise((r) => setTimeout(r, interval));
        }
        if (live) logUpdate.done();
        const bad = await api.get<{ jobs: Job[] }>(`/api/v1/jobs?${withParams(filter, { state: 'failed,timed_out', finishedSince: String(since), limit: '1000' })}`);
        if (bad.jobs.length > 0) {
          process.stdout.write(`${bad.jobs.length}${bad.jobs.length === 1000 ? '+' : ''} job(s) failed or timed out:\n`);
          for (const j of bad.jobs.slice(0, 20)) process.stdout.write(`  ${j.id} ${j.state}: ${oneLine(j.error ?? '', 100)}\n`);
          process.exitCode = 1;
        }
      });
    });
}

function sinceOf(v: string): number {
  const t = Date.parse(v);
  if (!Number.isNaN(t) && /\d{4}-\d{2}-\d{2}/.test(v)) return t;
  return Date.now() - parseDuration(v, '--since');
}

function withParams(base: URLSearchParams, extra: Record<string, string>): URLSearchParams {
  const q = new URLSearchParams(base);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q;
}
