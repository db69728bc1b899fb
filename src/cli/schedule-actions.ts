import { formatDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { JobSpec, ScheduleView } from '../protocol/messages.js';
import { withClient } from './client-context.js';
import { jobFieldsOf, type ClientFlags, type JobFieldFlags } from './flags.js';
import { ago, oneLine, table } from './format.js';

interface AddFlags extends ClientFlags, JobFieldFlags {
  every?: string;
  cron?: string;
  tz?: string;
  template?: string;
  param?: Record<string, string>;
  paused?: boolean;
  json?: boolean;
}

export async function scheduleAddAction(name: string, kind: string | undefined, f: AddFlags): Promise<void> {
  if ((f.every === undefined) === (f.cron === undefined)) throw new ValidationError('give --every (e.g. 5m) or --cron (e.g. "*/5 * * * *")');
  if (kind === undefined && f.template === undefined) throw new ValidationError('give the job: a kind (drover schedule add NAME mirror …) or --template NAME');
  const job: JobSpec = { ...jobFieldsOf(f), ...(kind ? { kind } : {}), ...(f.template ? { template: f.template } : {}), params: f.param ?? {} };
  await withClient(f, async (api) => {
    const s = await api.putSchedule({ name, ...(f.every ? { every: f.every } : {}), ...(f.cron ? { cron: f.cron } : {}), ...(f.tz ? { timezone: f.tz } : {}), job, ...(f.paused ? { paused: true } : {}) });
    process.stdout.write(f.json ? JSON.stringify(s, null, 2) + '\n' : `schedule ${s.name}: ${when(s)}, ${s.paused ? 'paused (drover schedule resume to start it)' : `next ${next(s)}`}\n`);
  });
}

export async function scheduleListAction(f: ClientFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (api) => {
    const all = await api.schedules();
    if (f.json) return void process.stdout.write(JSON.stringify(all, null, 2) + '\n');
    if (all.length === 0) return void process.stdout.write('no schedules\n');
    const now = Date.now();
    const rows = all.map((s) => [s.name, when(s), s.paused ? 'paused' : next(s, now), ago(s.lastRunAt, now), s.lastJobId ? `${s.lastJobId} ${s.lastJobState ?? 'gone'}` : '', s.source, oneLine(s.lastSkip ?? '', 60)]);
    process.stdout.write(table(['NAME', 'WHEN', 'NEXT', 'LAST', 'LAST JOB', 'FROM', 'SKIPPED'], rows) + '\n');
  });
}

export async function scheduleRemoveAction(name: string, f: ClientFlags): Promise<void> {
  await withClient(f, async (api) => {
    await api.deleteSchedule(name);
    process.stdout.write(`schedule ${name} removed\n`);
  });
}

export async function schedulePauseAction(name: string, f: ClientFlags): Promise<void> {
  await withClient(f, async (api) => void process.stdout.write(`schedule ${(await api.pauseSchedule(name, true)).name} paused\n`));
}

export async function scheduleResumeAction(name: string, f: ClientFlags): Promise<void> {
  await withClient(f, async (api) => {
    const s = await api.pauseSchedule(name, false);
    process.stdout.write(`schedule ${s.name} resumed, next ${next(s)}\n`);
  });
}

function when(s: ScheduleView): string {
  return s.everyMs !== null ? `every ${formatDuration(s.everyMs)}` : `cron "${s.cron}"${s.timezone ? ` ${s.timezone}` : ''}`;
}

function next(s: ScheduleView, now = Date.now()): string {
  return s.nextRunAt <= now ? 'now' : `in ${formatDuration(s.nextRunAt - now)} (${new Date(s.nextRunAt).toISOString()})`;
}
