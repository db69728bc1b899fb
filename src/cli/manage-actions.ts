import type { DroverClient } from '../client/drover-client.js';
import { formatDuration, parseTime } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import { LIST_DEFAULTS, type ListFilter } from '../core/job-filter.js';
import { isJobState, JOB_STATES, type Job, type JobState } from '../core/job.js';
import { withClient } from './client-context.js';
import type { ClientFlags } from './flags.js';
import { countsLine, table } from './format.js';

/** The filter flags of `cancel`, `retry` and `purge`. */
export interface FilterFlags extends ClientFlags {
  state?: string;
  owner?: string;
  queue?: string;
  tag?: string;
  template?: string;
  kind?: string;
  parent?: string;
}

/** Cancels or retries at once at most this many jobs. */
const PARALLEL = 8;

export async function statsAction(f: ClientFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (api) => {
    const s = await api.stats();
    if (f.json) return void process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    const finished = countsLine(s.lastHour);
    const lines = [
      `jobs       ${countsLine(s.counts)}`,
      `last hour  ${finished === 'no jobs' ? 'none finished' : finished}`,
      `workers    ${s.workers.online} online (${s.workers.slots} slots, ${s.workers.running} running)${s.workers.offline > 0 ? `, ${s.workers.offline} offline` : ''}`,
    ];
    const queues = Object.entries(s.queues).sort(([a], [b]) => a.localeCompare(b));
    process.stdout.write(lines.join('\n') + '\n');
    if (queues.length > 0) {
      const states = JOB_STATES.filter((st) => queues.some(([, c]) => c[st] > 0));
      process.stdout.write('\n' + table(['QUEUE', ...states.map((st) => st.toUpperCase())], queues.map(([q, c]) => [q, ...states.map((st) => String(c[st]))])) + '\n');
    }
  });
}

export async function templatesAction(f: ClientFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (api) => {
    const templates = await api.templates();
    if (f.json) return void process.stdout.write(JSON.stringify(templates, null, 2) + '\n');
    if (templates.length === 0) return void process.stdout.write('no templates: define them in drover.yaml (the coordinator\'s, or a worker\'s)\n');
    const rows = templates.map((t) => {
      const optional = Object.keys(t.params).filter((p) => !t.required.includes(p));
      return [
        t.name,
        t.kind,
        [...t.required, ...optional.map((p) => `[${p}]`)].join(' '),
        t.secrets.join(','),
        t.concurrency ? `${t.concurrency.limit} per ${t.concurrency.key}` : '',
        t.timeLimitMs === null ? '' : formatDuration(t.timeLimitMs),
      ];
    });
    process.stdout.write(table(['NAME', 'KIND', 'PARAMS ([optional])', 'SECRETS', 'LIMIT', 'TIME LIMIT'], rows) + '\n');
  });
}

export async function purgeAction(f: ClientFlags & { state?: string; before?: string }): Promise<void> {
  if (f.before === undefined) throw new ValidationError('--before: required, e.g. --before 7d (finished more than 7 days ago) or an ISO 8601 time');
  const before = parseTime(f.before, '--before', Date.now(), -1);
  const states = f.state === undefined ? undefined : statesOf(f.state);
  await withClient(f, async (api) => {
    const deleted = await api.purge({ before, ...(states ? { states } : {}) });
    process.stdout.write(`deleted ${deleted} ${states ? states.join('/') : 'finished'} ${deleted === 1 ? 'job' : 'jobs'} that finished before ${new Date(before).toISOString()}, with their logs\n`);
  });
}

/** `cancel`/`retry` with ids, or with a filter: each matching job in the states the action takes. */
export async function eachMatching(ids: string[], f: FilterFlags, o: { command: string; verb: string; states: JobState[]; defaults: JobState[] }, act: (api: DroverClient, id: string) => Promise<Job>): Promise<void> {
  const filter = filterOf(f, o.states, o.defaults);
  if (ids.length > 0 && filter) throw new ValidationError(`${o.command}: give job ids or filters (--state, --tag, ...), not both`);
  if (ids.length === 0 && !filter) throw new ValidationError(`${o.command}: give job ids, or filters such as --tag T --state ${o.defaults[0]}`);
  await withClient(f, async (api) => {
    const targets = filter ? await matchingIds(api, filter) : ids;
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const id = targets[next++] as string;
        try {
          const job = await act(api, id);
          if (!filter) process.stdout.write(`${job.id} ${job.state}${job.stopReason ? ` (stopping: ${job.stopReason})` : ''}\n`);
        } catch (err) {
          failed++;
          const message = (err as Error).message;
          process.stderr.write(`drover: ${message.includes(id) ? message : `${id}: ${message}`}\n`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, targets.length) }, worker));
    if (filter) process.stdout.write(`${o.verb}: ${targets.length - failed} of ${targets.length} matching jobs${failed > 0 ? ` (${failed} refused)` : ''}\n`);
    if (failed > 0) process.exitCode = 1;
  });
}

/** The filter of the flags: in `defaults`, or in the --state given (among `states`); null without any filter flag. */
function filterOf(f: FilterFlags, states: JobState[], defaults: JobState[]): ListFilter | null {
  const out: ListFilter = {};
  for (const k of ['owner', 'queue', 'tag', 'template', 'kind', 'parent'] as const) if (f[k] !== undefined) out[k] = f[k];
  if (Object.keys(out).length === 0 && f.state === undefined) return null;
  const asked = f.state === undefined ? defaults : statesOf(f.state);
  const wrong = asked.filter((s) => !states.includes(s));
  if (wrong.length > 0) throw new ValidationError(`--state: ${wrong.join(', ')} cannot be taken here (only ${states.join(', ')})`);
  out.state = asked;
  return out;
}

function statesOf(v: string): JobState[] {
  const states = v.split(',').map((s) => s.trim());
  for (const s of states) if (!isJobState(s)) throw new ValidationError(`--state: unknown state "${s}" (${JOB_STATES.join(', ')})`);
  return states as JobState[];
}

async function matchingIds(api: DroverClient, filter: ListFilter): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await api.list({ ...filter, limit: LIST_DEFAULTS.maxLimit, ...(cursor ? { cursor } : {}) });
    ids.push(...page.jobs.map((j) => j.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return ids;
}
