import type { DroverClient } from '../client/drover-client.js';
import { ValidationError } from '../core/errors.js';
import { formatDuration, parseTime } from '../core/duration.js';
import { LIST_DEFAULTS, type CountFilter } from '../core/job-filter.js';
import { ACTIVE_STATES, FINAL_STATES, isFinalState, isJobState, type Attempt, type Job, type JobState } from '../core/job.js';
import type { JobSpec } from '../protocol/messages.js';
import { withClient } from './client-context.js';
import { jobFieldsOf, type ClientFlags, type JobFieldFlags } from './flags.js';
import { eachMatching, type FilterFlags } from './manage-actions.js';
import { ago, countsLine, describeFilter, formatProgress, JOB_FLEXIBLE, JOB_HEADER, jobRow, jobWhat, oneLine, plural, table } from './format.js';
import { kindModule } from '../runners/registry.js';

interface AddFlags extends ClientFlags, JobFieldFlags {
  template?: string;
  dest?: string;
  sha256?: string;
  header?: string[];
  connections?: string;
  param?: Record<string, string>;
  runAt?: string;
  secret?: string[];
  kind?: string;
  wait?: boolean;
  json?: boolean;
}
interface ListFlags extends FilterFlags {
  limit?: string;
  all?: boolean;
  oldest?: boolean;
  finished?: boolean;
  since?: string;
  json?: boolean;
}

export async function addAction(positional: string | undefined, rest: string[], f: AddFlags): Promise<void> {
  // `add --kind download URL`: the first word is then a URL, not the kind.
  const kind = f.kind ?? positional;
  const urls = f.kind !== undefined && positional !== undefined ? [positional, ...rest] : rest;
  if (f.kind !== undefined && f.template) throw new ValidationError('give --kind or --template, not both');
  if (!kind && !f.template) throw new ValidationError('give a kind (e.g. `drover add noop` or --kind noop) or --template NAME');
  const base: JobSpec = { ...jobFieldsOf(f), params: { ...(f.param ?? {}), ...downloadParamsOf(kind, urls, f) } };
  if (kind) base.kind = kind;
  if (f.template) base.template = f.template;
  if (f.secret) base.secrets = f.secret;
  if (f.runAt) base.runAt = f.runAt;
  // One job per URL for downloads; one job otherwise.
  const specs = kind === 'download' ? urls.map((url) => ({ ...base, params: { ...base.params, url } })) : [base];
  await withClient(f, async (api) => {
    const jobs = specs.length === 1 ? [await api.enqueue(specs[0] as JobSpec)] : await api.enqueueMany(specs);
    for (const job of jobs) process.stdout.write(f.json ? JSON.stringify(job, null, 2) + '\n' : `${job.id} ${job.state}\n`);
    if (f.wait) await waitForAll(api, jobs, f.json === true);
  });
}

/** A terminal's columns, or COLUMNS when set (as `ls` takes it); undefined: lines are not cut. */
function terminalWidth(): number | undefined {
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env > 0) return env;
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/** `add --wait`: each job's end as it comes; exit status 1 unless all succeeded. */
async function waitForAll(api: DroverClient, jobs: Job[], json: boolean): Promise<void> {
  const ends = await Promise.all(jobs.map((j) => api.wait(j.id)));
  for (const j of ends) process.stdout.write(json ? JSON.stringify(j, null, 2) + '\n' : `${j.id} ${j.state}${j.error ? `: ${oneLine(j.error, 200)}` : ''}\n`);
  if (ends.some((j) => j.state !== 'succeeded')) process.exitCode = 1;
}

export async function jobsAction(f: ListFlags): Promise<void> {
  await withClient(f, async (api) => {
    const want = f.all ? Infinity : Number(f.limit ?? LIST_DEFAULTS.limit);
    if (!f.all && (!Number.isSafeInteger(want) || want < 1)) throw new ValidationError(`--limit: expected a positive integer, got "${f.limit}"`);
    const now = Date.now();
    const filter: CountFilter = {
      ...(f.owner ? { owner: f.owner } : {}),
      ...(f.queue ? { queue: f.queue } : {}),
      ...(f.tag ? { tag: f.tag } : {}),
      ...(f.template ? { template: f.template } : {}),
      ...(f.kind ? { kind: f.kind } : {}),
      ...(f.parent ? { parent: f.parent } : {}),
      ...(f.since !== undefined ? { since: parseTime(f.since, '--since', now, -1) } : {}),
    };
    let states = f.state ? (f.state.split(',').map((s) => s.trim()) as JobState[]) : undefined;
    if (f.finished) {
      const unfinished = states?.filter((s) => isJobState(s) && !isFinalState(s)) ?? [];
      if (unfinished.length > 0) throw new ValidationError(`--finished lists finished jobs only; --state ${unfinished.join(',')} never is (finished: ${FINAL_STATES.join(', ')})`);
      states ??= [...FINAL_STATES];
    }
    const order = f.oldest ? 'asc' : 'desc';
    const sort = f.finished ? ({ sort: 'finished' } as const) : {};
    const jobs: Job[] = [];
    const waiting: Record<string, string> = {};
    let cursor: string | null = null;
    let more = false;
    do {
      const page = await api.list({ ...filter, ...(states ? { state: states } : {}), ...sort, order, limit: Math.min(LIST_DEFAULTS.maxLimit, want - jobs.length), ...(cursor ? { cursor } : {}) });
      jobs.push(...page.jobs);
      Object.assign(waiting, page.waiting);
      cursor = page.nextCursor;
      more = cursor !== null;
    } while (more && jobs.length < want);
    if (f.json) {
      for (const j of jobs) process.stdout.write(JSON.stringify(j) + '\n');
      return;
    }
    // Counts of every state under the other filters: what the list is a part of.
    const counts = await api.counts(filter);
    const matching = states ? states.reduce((n, s) => n + (counts[s] ?? 0), 0) : Object.values(counts).reduce((a, b) => a + b, 0);
    const head = countsLine(counts);
    const given = { ...filter, ...(states ? { state: states } : {}) };
    // Nothing matches: the counts (when there are any) are what the other filters leave.
    if (jobs.length === 0 && Object.keys(given).length > 0) return void process.stdout.write(`${head === 'no jobs' ? '' : head + '\n'}no jobs match ${describeFilter(given)}\n`);
    process.stdout.write(head + '\n');
    if (jobs.length === 0) return;
    const width = terminalWidth();
    const fit = width ? { width, flexible: JOB_FLEXIBLE } : undefined;
    process.stdout.write(table(JOB_HEADER, jobs.map((j) => jobRow(j, now, waiting[j.id])), fit) + '\n');
    const which = f.finished ? (order === 'desc' ? 'the last finished' : 'the first finished') : order === 'desc' ? 'the newest' : 'the oldest';
    if (more) process.stdout.write(`${which} ${jobs.length} of ${matching}; --limit N or --all for more${order === 'desc' ? ', --oldest for the first' : ''}\n`);
  });
}

export async function showAction(id: string, f: ClientFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (api) => {
    const detail = await api.get(id);
    if (f.json) {
      process.stdout.write(JSON.stringify(detail, null, 2) + '\n');
      return;
    }
    process.stdout.write(describeJob(detail.job, detail.attempts, detail.waiting));
    const tree = await childLines(api, id, 1, { left: SHOWN_CHILDREN });
    if (tree.length > 0) process.stdout.write(['children:', ...tree].join('\n') + '\n');
  });
}

/**
 * The children of `id` as the lines of a tree, each with its state, kind, the params that tell
 * it from its siblings and its first error line; a child that is a parent itself has its own
 * children below it, indented. At most `budget.left` lines, then where to find the rest.
 */
async function childLines(api: DroverClient, id: string, depth: number, budget: { left: number }): Promise<string[]> {
  const pad = '  '.repeat(depth);
  // Filtered here too: a coordinator older than children ignores `parent` and lists every job.
  const children = (await api.list({ parent: id, limit: budget.left + 1 })).jobs.filter((c) => c.parentId === id);
  const own = distinguishingParams(children);
  const lines: string[] = [];
  for (const c of children) {
    if (budget.left <= 0) {
      lines.push(`${pad}… more: drover jobs --parent ${id}`);
      break;
    }
    budget.left--;
    const params = own.length > 0 ? `  ${oneLine(own.map((k) => `${k}=${c.params[k] === undefined ? '' : String(c.params[k])}`).join(' '), 80)}` : '';
    lines.push(`${pad}${c.id}  ${c.state}${c.stopReason ? ` (stopping: ${c.stopReason})` : ''}  ${jobWhat(c)}${params}${c.error ? `: ${c.error.split('\n')[0]}` : ''}`);
    const isParent = c.state === 'awaiting_children' || (c.progress as { children?: number } | null)?.children !== undefined;
    if (isParent && depth < MAX_TREE_DEPTH) lines.push(...(await childLines(api, c.id, depth + 1, budget)));
  }
  return lines;
}

/** The params whose values differ between siblings (their camera and day, say): what tells one from another. */
function distinguishingParams(jobs: readonly Job[]): string[] {
  if (jobs.length < 2) return [];
  const keys = [...new Set(jobs.flatMap((j) => Object.keys(j.params)))];
  return keys.filter((k) => new Set(jobs.map((j) => JSON.stringify(j.params[k] ?? null))).size > 1);
}

/** `drover show` goes this many generations down a tree. */
const MAX_TREE_DEPTH = 4;
/** `drover show` lists at most this many children; `drover jobs --parent ID` lists them all. */
const SHOWN_CHILDREN = 100;

export async function logsAction(id: string, f: ClientFlags & { follow?: boolean; tail?: string }): Promise<void> {
  const tail = f.tail === undefined ? undefined : Number(f.tail);
  if (tail !== undefined && (!Number.isSafeInteger(tail) || tail < 0)) throw new ValidationError(`--tail: expected a whole number of lines, got "${f.tail}"`);
  await withClient(f, async (api) => {
    const from = tail === undefined ? 0 : await printTail(api, id, tail);
    await followLogs(api, id, f.follow === true, from);
  });
}

/** Prints the last `n` lines of what the job wrote so far; returns where the log goes on. */
async function printTail(api: DroverClient, id: string, n: number): Promise<number> {
  const kept = new LastLines(n);
  let after = 0;
  for (;;) {
    const res = await api.logs(id, { after });
    for (const c of res.chunks) kept.push(c.text);
    after = res.next;
    if (res.chunks.length === 0) break;
  }
  process.stdout.write(kept.text());
  return after;
}

/** The last `max` lines of text given in pieces (a piece may end mid-line). */
class LastLines {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max: number) {}

  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > this.max) this.lines = this.lines.slice(-this.max);
  }

  text(): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    const last = all.slice(all.length - Math.min(this.max, all.length));
    return last.length === 0 ? '' : last.join('\n') + (this.partial === '' ? '\n' : '');
  }
}

const ACTIVE: JobState[] = [...ACTIVE_STATES];
export const cancelAction = (ids: string[], f: FilterFlags) => eachMatching(ids, f, { command: 'cancel', verb: 'canceled', states: ACTIVE, defaults: ACTIVE }, (api, id) => api.cancel(id));
// Canceled jobs only when asked (--state canceled): a cancel is usually meant to last.
export const retryAction = (ids: string[], f: FilterFlags) =>
  eachMatching(ids, f, { command: 'retry', verb: 'retried', states: ['failed', 'timed_out', 'canceled'], defaults: ['failed', 'timed_out'] }, (api, id) => api.retry(id));

export async function workersAction(what: string | undefined, f: ClientFlags & { json?: boolean; all?: boolean }): Promise<void> {
  await withClient(f, async (api) => {
    if (what === 'prune') return void process.stdout.write(`forgot ${plural(await api.pruneWorkers(), 'worker')} gone for over an hour\n`);
    if (what !== undefined) throw new ValidationError(`workers ${what}: unknown (drover workers [prune] [--all])`);
    const workers = await api.workers({ all: f.all === true });
    if (f.json) return void process.stdout.write(JSON.stringify(workers, null, 2) + '\n');
    const now = Date.now();
    // Online first, each group by name.
    workers.sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
    // Segment nodes: their node and segment server, where a mirror's peers come from.
    const nodes = workers.some((w) => w.node || w.segments);
    process.stdout.write(
      table(
        ['NAME', 'HOST', 'STATE', 'SLOTS', 'RUNNING', 'LAST SEEN', 'KINDS', 'TEMPLATES', ...(nodes ? ['NODE', 'SEGMENTS'] : [])],
        workers.map((w) => [w.name, w.host, w.online ? 'online' : 'offline', String(w.slots), String(w.running), ago(w.lastSeen, now), w.kinds.join(','), w.templates.map((t) => t.name).join(','), ...(nodes ? [w.node ?? '', w.segments?.url ?? ''] : [])]),
      ) + '\n',
    );
  });
}

function describeJob(j: Job, attempts: Attempt[], waiting: string | undefined): string {
  const t = (x: number | null) => (x === null ? '' : new Date(x).toISOString());
  const lines = [
    `id:        ${j.id}`,
    `state:     ${j.state}${j.stopReason ? ` (stopping: ${j.stopReason})` : ''}`,
    ...(j.parentId ? [`parent:    ${j.parentId}`] : []),
    ...(waiting ? [`waiting:   ${waiting}`] : []),
    `kind:      ${jobWhat(j)}`,
    `queue:     ${j.queue}   priority: ${j.priority}`,
    `owner:     ${j.owner ?? ''}`,
    `tags:      ${j.tags.join(', ')}`,
    `params:    ${Object.entries(j.params).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `attempt:   ${j.attempt} of ${j.maxAttempts}`,
    `created:   ${t(j.createdAt)}`,
    ...(j.state === 'waiting' ? [`run at:    ${t(j.runAt)} (in ${formatDuration(Math.max(0, j.runAt - Date.now()))})`] : []),
    `started:   ${t(j.startedAt)}`,
    `finished:  ${t(j.finishedAt)}`,
  ];
  if (j.timeLimitMs !== null) lines.push(`limit:     ${j.timeLimitMs / 1000} s`);
  if (j.concurrencyKey) lines.push(`key:       ${j.concurrencyKey} (at most ${j.concurrencyLimit} at once)`);
  if (j.node) lines.push(`node:      ${j.node}`);
  if (j.lease) lines.push(`worker:    ${j.lease.worker}`);
  if (j.progress) lines.push(`progress:  ${formatProgress(j.progress)}`);
  if (j.result !== null && j.result !== undefined) lines.push(`result:    ${JSON.stringify(j.result)}`);
  if (j.error) lines.push(`error:     ${j.error.replace(/\n/g, '\n           ')}`);
  if (attempts.length > 0) {
    lines.push('attempts:');
    for (const a of attempts) lines.push(`  #${a.attempt} ${a.worker} ${t(a.startedAt)} → ${t(a.endedAt)} ${a.outcome ?? 'running'}${a.error ? `: ${a.error.split('\n')[0]}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** `logs -f`: each long poll for more output waits this long, ms. */
const FOLLOW_WAIT_MS = 25_000;

async function followLogs(api: DroverClient, id: string, follow: boolean, from = 0): Promise<void> {
  let after = from;
  for (;;) {
    const res = await api.logs(id, { after, waitMs: follow ? FOLLOW_WAIT_MS : 0 });
    for (const c of res.chunks) process.stdout.write(c.text);
    after = res.next;
    const active = res.state === 'running' || res.state === 'queued' || res.state === 'waiting';
    if (res.chunks.length === 0 && (!follow || !active)) return;
  }
}

/** The download flags as params (and --dest for a kind that takes a destination); an error when they are given to another kind. */
function downloadParamsOf(kind: string | undefined, urls: string[], f: AddFlags): Record<string, string> {
  const given = (['dest', 'sha256', 'header', 'connections'] as const).filter((k) => f[k] !== undefined);
  if (kind !== 'download') {
    // --dest is the `dest` param of any kind that takes one (hikvision, ffmpeg).
    const takesDest = kind !== undefined && (kindModule(kind)?.params ?? []).includes('dest');
    const other = given.filter((k) => k !== 'dest' || !takesDest);
    if (other.length > 0) throw new ValidationError(`--${other[0]} is for download jobs only`);
    if (urls.length > 0) throw new ValidationError(`unexpected arguments: ${urls.join(' ')} (URLs are for \`drover add download\`)`);
    return f.dest && takesDest ? { dest: f.dest } : {};
  }
  if (urls.length === 0) throw new ValidationError('give at least one URL: drover add download URL... --dest NAME');
  const out: Record<string, string> = {};
  if (f.dest) out.dest = f.dest;
  if (f.sha256 && urls.length > 1) throw new ValidationError(`--sha256: one checksum for ${urls.length} URLs; add each file with its own --sha256 (or import a file with a sha256 column)`);
  if (f.sha256) out.sha256 = f.sha256;
  if (f.header) out.headers = f.header.join('\n');
  if (f.connections) out.connections = f.connections;
  return out;
}
