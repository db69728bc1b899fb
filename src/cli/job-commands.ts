import { Command } from 'commander';
import type { ApiClient } from '../client/api-client.js';
import { ValidationError } from '../core/errors.js';
import type { Attempt, Job } from '../core/job.js';
import type { StoredLogChunk, WorkerRecord } from '../store/store.js';
import { addClientFlags, collectList, collectParam, withClient, type ClientFlags } from './context.js';
import { ago, formatProgress, JOB_HEADER, jobRow, jobWhat, table } from './format.js';

/** The flags of `jobOptions`, shared by `add` and `import`. */
export interface JobFieldFlags {
  owner?: string;
  queue?: string;
  priority?: string;
  tag?: string[];
  timeLimit?: string;
  maxAttempts?: string;
}

interface AddFlags extends ClientFlags, JobFieldFlags {
  template?: string;
  dest?: string;
  sha256?: string;
  header?: string[];
  connections?: string;
  param?: Record<string, string>;
  runAt?: string;
  secret?: string[];
  json?: boolean;
}
interface ListFlags extends ClientFlags {
  state?: string;
  owner?: string;
  queue?: string;
  tag?: string;
  template?: string;
  kind?: string;
  limit?: string;
  all?: boolean;
  json?: boolean;
}

/** Common job fields from flags shared by `add` and `import`. */
export function jobFieldsOf(f: JobFieldFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.owner) out.owner = f.owner;
  if (f.queue) out.queue = f.queue;
  if (f.priority !== undefined) {
    const n = Number(f.priority);
    if (!Number.isSafeInteger(n)) throw new ValidationError(`--priority: expected an integer, got "${f.priority}"`);
    out.priority = n;
  }
  if (f.tag) out.tags = f.tag;
  if (f.timeLimit) out.timeLimit = f.timeLimit;
  if (f.maxAttempts !== undefined) {
    const n = Number(f.maxAttempts);
    if (!Number.isSafeInteger(n) || n < 1) throw new ValidationError(`--max-attempts: expected an integer ≥ 1, got "${f.maxAttempts}"`);
    out.maxAttempts = n;
  }
  return out;
}

export function jobOptions(cmd: Command): Command {
  return cmd
    .option('--owner <name>', 'owner of the job(s)')
    .option('--queue <name>', 'queue (default "default")')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--tag <tag>', 'tag (repeatable)', collectList)
    .option('--time-limit <duration>', 'time limit of one attempt, e.g. 30m, 2h')
    .option('--max-attempts <n>', 'attempts in all (default 3, or the template\'s)');
}

export function registerJobCommands(program: Command): void {
  addClientFlags(jobOptions(program.command('add [kind] [urls...]')))
    .description('create a job: `drover add --template NAME --param k=v ...`, `drover add KIND ...` or `drover add download URL... --dest NAME[:dir]`')
    .option('--template <name>', 'template from the config')
    .option('--param <k=v>', 'a parameter (repeatable)', collectParam)
    .option('--secret <name>', 'also redact this param (repeatable)', collectList)
    .option('--run-at <time>', 'not before this time (ISO 8601)')
    .option('--dest <name[:dir]>', 'download: a destination of the worker, and a directory below it')
    .option('--sha256 <hex>', 'download: the file\'s expected SHA-256 (also --param sha1=/md5=)')
    .option('--header <"K: V">', 'download: a request header (repeatable; kept secret)', collectList)
    .option('--connections <n>', 'download: connections for the file (default: the worker\'s, 8)')
    .option('--json', 'print the job(s) as JSON')
    .action(async (kind: string | undefined, urls: string[], f: AddFlags) => {
      if (!kind && !f.template) throw new ValidationError('give a kind (e.g. `drover add noop`) or --template NAME');
      const base: Record<string, unknown> = { ...jobFieldsOf(f), params: { ...(f.param ?? {}), ...downloadParamsOf(kind, urls, f) } };
      if (kind) base.kind = kind;
      if (f.template) base.template = f.template;
      if (f.secret) base.secrets = f.secret;
      if (f.runAt) base.runAt = f.runAt;
      // One job per URL for downloads; one job otherwise.
      const bodies = kind === 'download' ? urls.map((url) => ({ ...base, params: { ...(base.params as object), url } })) : [base];
      await withClient(f, async (api) => {
        const { jobs } = await api.post<{ jobs: Job[] }>('/api/v1/jobs', bodies.length === 1 ? bodies[0] : { jobs: bodies });
        for (const job of jobs) process.stdout.write(f.json ? JSON.stringify(job, null, 2) + '\n' : `${job.id} ${job.state}\n`);
      });
    });

  addClientFlags(program.command('jobs'))
    .description('list jobs, oldest first')
    .option('--state <states>', 'only these states, comma-separated')
    .option('--owner <name>', 'only this owner')
    .option('--queue <name>', 'only this queue')
    .option('--tag <tag>', 'only jobs with this tag')
    .option('--template <name>', 'only this template')
    .option('--kind <kind>', 'only this kind')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--all', 'every matching job')
    .option('--json', 'JSON lines, one job per line')
    .action(async (f: ListFlags) => {
      await withClient(f, async (api) => {
        const q = new URLSearchParams();
        for (const k of ['state', 'owner', 'queue', 'tag', 'template', 'kind'] as const) if (f[k]) q.set(k, f[k] as string);
        const want = f.all ? Infinity : Number(f.limit ?? 100);
        if (!f.all && (!Number.isSafeInteger(want) || want < 1)) throw new ValidationError(`--limit: expected a positive integer, got "${f.limit}"`);
        const jobs: Job[] = [];
        let cursor: string | null = null;
        let more = false;
        do {
          if (cursor) q.set('cursor', cursor);
          q.set('limit', String(Math.min(1000, want - jobs.length)));
          const page: { jobs: Job[]; nextCursor: string | null } = await api.get(`/api/v1/jobs?${q}`);
          jobs.push(...page.jobs);
          cursor = page.nextCursor;
          more = cursor !== null;
        } while (more && jobs.length < want);
        if (f.json) {
          for (const j of jobs) process.stdout.write(JSON.stringify(j) + '\n');
          return;
        }
        const now = Date.now();
        process.stdout.write(table(JOB_HEADER, jobs.map((j) => jobRow(j, now))) + '\n');
        if (more) process.stdout.write(`… more jobs match; use --limit N or --all\n`);
      });
    });

  addClientFlags(program.command('show <id>'))
    .description('one job in full, with its attempts')
    .option('--json', 'as JSON')
    .action(async (id: string, f: ClientFlags & { json?: boolean }) => {
      await withClient(f, async (api) => {
        const { job, attempts } = await api.get<{ job: Job; attempts: Attempt[] }>(`/api/v1/jobs/${encodeURIComponent(id)}`);
        if (f.json) {
          process.stdout.write(JSON.stringify({ job, attempts }, null, 2) + '\n');
          return;
        }
        process.stdout.write(describeJob(job, attempts));
      });
    });

  addClientFlags(program.command('logs <id>'))
    .description("print a job's output")
    .option('-f, --follow', 'keep printing until the job ends')
    .action(async (id: string, f: ClientFlags & { follow?: boolean }) => {
      await withClient(f, (api) => followLogs(api, id, f.follow === true));
    });

  for (const [name, verb, desc] of [
    ['cancel', 'cancel', 'cancel jobs (waiting, queued or running)'],
    ['retry', 'retry', 'put failed, timed-out or canceled jobs back in the queue'],
  ] as const) {
    addClientFlags(program.command(`${name} <ids...>`))
      .description(desc)
      .action(async (ids: string[], f: ClientFlags) => {
        await withClient(f, async (api) => {
          let failed = 0;
          for (const id of ids) {
            try {
              const { job } = await api.post<{ job: Job }>(`/api/v1/jobs/${encodeURIComponent(id)}/${verb}`, {});
              process.stdout.write(`${job.id} ${job.state}${job.stopReason ? ` (stopping: ${job.stopReason})` : ''}\n`);
            } catch (err) {
              failed++;
              process.stderr.write(`drover: ${id}: ${(err as Error).message}\n`);
            }
          }
          if (failed > 0) process.exitCode = 1;
        });
      });
  }

  addClientFlags(program.command('workers'))
    .description('workers that have talked to the coordinator')
    .option('--json', 'as JSON')
    .action(async (f: ClientFlags & { json?: boolean }) => {
      await withClient(f, async (api) => {
        const { workers } = await api.get<{ workers: WorkerRecord[] }>('/api/v1/workers');
        if (f.json) return void process.stdout.write(JSON.stringify(workers, null, 2) + '\n');
        const now = Date.now();
        process.stdout.write(
          table(
            ['NAME', 'HOST', 'SLOTS', 'RUNNING', 'LAST SEEN', 'KINDS', 'TEMPLATES'],
            workers.map((w) => [w.name, w.host, String(w.slots), String(w.running), ago(w.lastSeen, now), w.kinds.join(','), w.templates.map((t) => t.name).join(',')]),
          ) + '\n',
        );
      });
    });
}

function describeJob(j: Job, attempts: Attempt[]): string {
  const t = (x: number | null) => (x === null ? '' : new Date(x).toISOString());
  const lines = [
    `id:        ${j.id}`,
    `state:     ${j.state}${j.stopReason ? ` (stopping: ${j.stopReason})` : ''}`,
    `kind:      ${jobWhat(j)}`,
    `queue:     ${j.queue}   priority: ${j.priority}`,
    `owner:     ${j.owner ?? ''}`,
    `tags:      ${j.tags.join(', ')}`,
    `params:    ${Object.entries(j.params).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `attempt:   ${j.attempt} of ${j.maxAttempts}`,
    `created:   ${t(j.createdAt)}`,
    `started:   ${t(j.startedAt)}`,
    `finished:  ${t(j.finishedAt)}`,
  ];
  if (j.timeLimitMs !== null) lines.push(`limit:     ${j.timeLimitMs / 1000} s`);
  if (j.concurrencyKey) lines.push(`key:       ${j.concurrencyKey} (at most ${j.concurrencyLimit} at once)`);
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

async function followLogs(api: ApiClient, id: string, follow: boolean): Promise<void> {
  let after = 0;
  for (;;) {
    const res = await api.get<{ chunks: StoredLogChunk[]; next: number; state: string }>(
      `/api/v1/jobs/${encodeURIComponent(id)}/logs?after=${after}&limit=1000${follow ? '&wait=25000' : ''}`,
      { timeoutMs: 40_000 },
    );
    for (const c of res.chunks) process.stdout.write(c.text);
    after = res.next;
    const active = res.state === 'running' || res.state === 'queued' || res.state === 'waiting';
    if (res.chunks.length === 0 && (!follow || !active)) return;
  }
}

/** The download flags as params; an error when they are given to another kind. */
function downloadParamsOf(kind: string | undefined, urls: string[], f: AddFlags): Record<string, string> {
  const given = (['dest', 'sha256', 'header', 'connections'] as const).filter((k) => f[k] !== undefined);
  if (kind !== 'download') {
    if (given.length > 0) throw new ValidationError(`--${given[0]} is for download jobs only`);
    if (urls.length > 0) throw new ValidationError(`unexpected arguments: ${urls.join(' ')} (URLs are for \`drover add download\`)`);
    return {};
  }
  if (urls.length === 0) throw new ValidationError('give at least one URL: drover add download URL... --dest NAME');
  const out: Record<string, string> = {};
  if (f.dest) out.dest = f.dest;
  if (f.sha256) out.sha256 = f.sha256;
  if (f.header) out.headers = f.header.join('\n');
  if (f.connections) out.connections = f.connections;
  return out;
}
