import { randomUUID } from 'node:crypto';
import { LIST_DEFAULTS, type CountFilter, type ListFilter } from '../core/job-filter.js';
import { FINAL_STATES, type Job, type JobState } from '../core/job.js';
import type { CompleteAnswer, CompleteItem, LogChunk, SegmentNode, TemplateInfo, WorkerView } from '../core/reports.js';
import { DEFAULT_SERVER_URL, LOGS_DEFAULTS, PROTOCOL_DEFAULTS } from '../protocol/defaults.js';
import type {
  CompleteReply,
  CountsAnswer,
  DryRunAnswer,
  EnqueueAnswer,
  EnqueueIdsAnswer,
  HealthAnswer,
  HeartbeatReply,
  HeartbeatRequest,
  JobAnswer,
  JobDetail,
  JobSpec,
  KindsAnswer,
  LeaseAnswer,
  LeaseRequest,
  ListAnswer,
  LogsAnswer,
  PruneAnswer,
  PurgeAnswer,
  PurgeRequest,
  QueueView,
  ScheduleAnswer,
  SchedulesAnswer,
  ScheduleView,
  SegmentNodesAnswer,
  StatsAnswer,
  StopOrder,
  StopsAnswer,
  TemplatesAnswer,
  WorkersAnswer,
} from '../protocol/messages.js';
import { filterQuery } from '../protocol/query.js';
import { ROUTES } from '../protocol/routes.js';
import type { CheckTokenAnswer, CreatedTokenAnswer, CreateTokenRequest, RevokedTokenAnswer, TokensAnswer } from '../protocol/token-messages.js';
import type { TokenInfo } from '../core/access-token.js';
import { ApiClient, ApiError } from './api-client.js';

/** How long `purge` waits for its answer, ms. */
const PURGE_TIMEOUT_MS = 30 * 60_000;

export interface DroverClientOptions {
  /** The coordinator: a URL, a comma-separated list or an array; requests fail over in order. Default http://127.0.0.1:7070. */
  server?: string | string[];
  /** The admin token (everything) or the worker token (the worker calls). Default none (a loopback coordinator without tokens). */
  token?: string;
  /** Connect timeout, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** One request's timeout, ms; long polls get their wait on top. Default 60000. */
  requestTimeoutMs?: number;
  /** PEM certificates trusted for an https:// coordinator besides Node's own list (`drover tls init`'s ca.crt). Default none. */
  ca?: string;
  /** A client certificate and key (PEM) for a coordinator with `server.tls.client_ca` (mutual TLS). Default none. */
  clientCert?: { cert: string; key: string };
  /** Called with each warning an enqueue's answer carries (`no online worker offers template "ghost"`). Default: none. */
  onWarning?: (message: string) => void;
}

/** Extra time a long poll's HTTP request gets beyond the wait it asks for, ms. */
const LONG_POLL_SLACK_MS = 15_000;

/** How an enqueue is sent. */
export interface EnqueueOptions {
  /**
   * Its Idempotency-Key: the coordinator makes the jobs of one key once within 24 h, however
   * often the request is sent. Default: a new random key per call, so a call retried on another
   * server after a lost answer never makes its jobs twice.
   */
  idempotencyKey?: string;
}

function idempotent(o: EnqueueOptions): { headers: Record<string, string> } {
  return { headers: { 'idempotency-key': o.idempotencyKey ?? randomUUID() } };
}

/**
 * The typed client of a Drover coordinator, for enqueuing from code and for workers. Every
 * method is one HTTP call (`wait` and `listAll` loop over several). HTTP errors are thrown as
 * ApiError (`status`, `code`, `field`, `message`); no coordinator reachable is UnreachableError.
 *
 * ```ts
 * const drover = new DroverClient({ server: 'http://127.0.0.1:7070', token: process.env.DROVER_TOKEN });
 * const job = await drover.enqueue({ kind: 'download', params: { url, dest: 'archive:videos' } });
 * const done = await drover.wait(job.id);   // succeeded, failed, timed_out or canceled
 * ```
 */
export class DroverClient {
  private readonly http: ApiClient;
  private readonly onWarning: (message: string) => void;

  constructor(o: DroverClientOptions = {}) {
    this.onWarning = o.onWarning ?? (() => {});
    this.http = new ApiClient({
      servers: o.server ?? DEFAULT_SERVER_URL,
      ...(o.token ? { token: o.token } : {}),
      ...(o.connectTimeoutMs ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.clientCert ? { clientCert: o.clientCert } : {}),
    });
  }

  /** The coordinator URL requests go to now (it changes on failover). */
  get server(): string {
    return this.http.server;
  }

  /** Creates one job; resolves with it (secret params as `***`). */
  async enqueue(job: JobSpec, o: EnqueueOptions = {}): Promise<Job> {
    return (await this.warned(this.http.post<EnqueueAnswer>(ROUTES.enqueue.path(), job, idempotent(o)))).jobs[0] as Job;
  }

  /** Creates all of these jobs or none (a bad one is an ApiError naming `jobs[i].field`). At most 50,000. */
  async enqueueMany(jobs: JobSpec[], o: EnqueueOptions = {}): Promise<Job[]> {
    return (await this.warned(this.http.post<EnqueueAnswer>(ROUTES.enqueue.path(), { jobs }, idempotent(o)))).jobs;
  }

  /** As enqueueMany, answered with the new ids only: for big batches. */
  async enqueueManyIds(jobs: JobSpec[], o: EnqueueOptions = {}): Promise<string[]> {
    return (await this.warned(this.http.post<EnqueueIdsAnswer>(ROUTES.enqueue.path('ids'), { jobs }, idempotent(o)))).ids;
  }

  private async warned<A extends { warnings?: string[] }>(answer: Promise<A>): Promise<A> {
    const a = await answer;
    for (const w of a.warnings ?? []) this.onWarning(w);
    return a;
  }

  /** Checks these jobs as enqueueMany would, creating nothing; resolves with how many are valid (all). */
  async validate(jobs: JobSpec[]): Promise<number> {
    return (await this.http.post<DryRunAnswer>(ROUTES.enqueue.path('dryRun'), { jobs })).valid;
  }

  /** One page of jobs, oldest first (`nextCursor` for the next; `waiting`: why queued ones no worker can run wait). Default 100, at most 1000. */
  list(filter: ListFilter = {}): Promise<ListAnswer> {
    return this.http.get<ListAnswer>(ROUTES.list.path(filterQuery(filter)));
  }

  /** Every matching job, page after page. */
  async *listAll(filter: Omit<ListFilter, 'cursor'> = {}): AsyncGenerator<Job> {
    let cursor: string | null | undefined;
    do {
      const page = await this.list({ limit: LIST_DEFAULTS.maxLimit, ...filter, ...(cursor ? { cursor } : {}) });
      yield* page.jobs;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** How many matching jobs are in each state. */
  async counts(filter: CountFilter = {}): Promise<Record<JobState, number>> {
    return (await this.http.get<CountsAnswer>(ROUTES.counts.path(filterQuery(filter)))).counts;
  }

  /** A job and its attempts; an ApiError with status 404 when there is none. */
  get(id: string): Promise<JobDetail> {
    return this.http.get<JobDetail>(ROUTES.job.path(id));
  }

  /** Cancels a waiting, queued or running job (a running one is stopped wherever it runs). */
  async cancel(id: string): Promise<Job> {
    return (await this.http.post<JobAnswer>(ROUTES.cancel.path(id), {})).job;
  }

  /** Puts a failed, timed-out or canceled job back in the queue. */
  async retry(id: string): Promise<Job> {
    return (await this.http.post<JobAnswer>(ROUTES.retry.path(id), {})).job;
  }

  /**
   * A job's log chunks after seq `after` (default 0), at most `limit` (default 1000, at most 10,000). With
   * `waitMs`, waits up to that long for new output while the job is active.
   */
  logs(id: string, o: { after?: number; limit?: number; waitMs?: number; signal?: AbortSignal } = {}): Promise<LogsAnswer> {
    const waitMs = o.waitMs ?? 0;
    return this.http.get<LogsAnswer>(ROUTES.readLogs.path(id, o.after ?? 0, o.limit ?? LOGS_DEFAULTS.limit, waitMs), {
      ...(waitMs > 0 ? { timeoutMs: waitMs + LONG_POLL_SLACK_MS } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }

  /**
   * Resolves with the job once it is final (succeeded, failed, timed_out or canceled). Each wait
   * is a long poll answered as soon as the job changes; `onChange` sees the job each time (its
   * live progress). Rejects on `signal`, and with an Error after `timeoutMs` (default: no limit).
   */
  async wait(id: string, o: { timeoutMs?: number; signal?: AbortSignal; onChange?: (job: Job) => void } = {}): Promise<Job> {
    const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
    let since = 0;
    let longPoll = true;
    for (;;) {
      o.signal?.throwIfAborted();
      const waitMs = Math.max(0, Math.min(PROTOCOL_DEFAULTS.longPollMs, deadline - Date.now()));
      let job: Job;
      try {
        job = longPoll ? await this.waitOnce(id, since, waitMs, o.signal) : (await this.get(id)).job;
      } catch (err) {
        // A coordinator older than the wait route: look every second instead.
        if (!(longPoll && err instanceof ApiError && err.status === 404 && err.message.startsWith('no route'))) throw err;
        longPoll = false;
        continue;
      }
      if (job.updatedAt > since) o.onChange?.(job);
      if (FINAL_STATES.includes(job.state)) return job;
      since = job.updatedAt;
      if (Date.now() >= deadline) throw new Error(`job ${id} did not finish within ${o.timeoutMs} ms`);
      if (!longPoll) await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
    }
  }

  private async waitOnce(id: string, since: number, waitMs: number, signal?: AbortSignal): Promise<Job> {
    return (await this.http.get<JobAnswer>(ROUTES.waitJob.path(id, since, waitMs), { timeoutMs: waitMs + LONG_POLL_SLACK_MS, ...(signal ? { signal } : {}) })).job;
  }

  /** Workers online, and those gone for less than the coordinator's worker retention (1 h); `all`: every one. */
  async workers(o: { all?: boolean } = {}): Promise<WorkerView[]> {
    return (await this.http.get<WorkersAnswer>(ROUTES.workers.path(o.all))).workers;
  }

  /** Jobs per state, per queue and finished in the last hour; the workers online, their slots and running jobs. */
  stats(): Promise<StatsAnswer> {
    return this.http.get<StatsAnswer>(ROUTES.stats.path());
  }

  /** Deletes finished jobs (in `states`, default all final ones) that finished before `before` (epoch ms), with their logs; resolves with how many. */
  async purge(p: PurgeRequest): Promise<number> {
    // A million jobs take the coordinator a minute or so, in short batches between other requests.
    return (await this.http.post<PurgeAnswer>(ROUTES.purge.path(), p, { timeoutMs: PURGE_TIMEOUT_MS })).deleted;
  }

  /** Every schedule, with its next and last run and its last job's state. */
  async schedules(): Promise<ScheduleView[]> {
    return (await this.http.get<SchedulesAnswer>(ROUTES.schedules.path())).schedules;
  }

  /** Creates or replaces a schedule: `{ name, every: '5m' | cron: '*\/5 * * * *', timezone?, job: JobSpec, paused? }`. */
  async putSchedule(input: { name: string; every?: string | number; cron?: string; timezone?: string; job: JobSpec; paused?: boolean }): Promise<ScheduleView> {
    return (await this.http.post<ScheduleAnswer>(ROUTES.putSchedule.path(), input)).schedule;
  }

  async deleteSchedule(name: string): Promise<void> {
    await this.http.delete(ROUTES.deleteSchedule.path(name));
  }

  async pauseSchedule(name: string, paused = true): Promise<ScheduleView> {
    return (await this.http.post<ScheduleAnswer>((paused ? ROUTES.pauseSchedule : ROUTES.resumeSchedule).path(name), {})).schedule;
  }

  /** The online workers with a segment server (the worker token may ask). */
  async segmentNodes(): Promise<SegmentNode[]> {
    return (await this.http.get<SegmentNodesAnswer>(ROUTES.segmentNodes.path())).nodes;
  }

  /** Forgets the workers gone longer than the worker retention; resolves with how many. */
  async pruneWorkers(): Promise<number> {
    return (await this.http.post<PruneAnswer>(ROUTES.pruneWorkers.path(), {})).deleted;
  }

  /** Templates the coordinator knows (its own and the workers'). */
  async templates(): Promise<TemplateInfo[]> {
    return (await this.http.get<TemplatesAnswer>(ROUTES.templates.path())).templates;
  }

  /** Job kinds the coordinator accepts. */
  async kinds(): Promise<string[]> {
    return (await this.http.get<KindsAnswer>(ROUTES.kinds.path())).kinds;
  }

  /** Per built-in kind, the params its jobs may have without a template (an older coordinator: none known). */
  async kindParams(): Promise<Record<string, string[]>> {
    return (await this.http.get<KindsAnswer>(ROUTES.kinds.path())).params ?? {};
  }

  /** Makes an access token (admin token needed); `secret` is the token, in this answer only. */
  createToken(req: CreateTokenRequest): Promise<CreatedTokenAnswer> {
    return this.http.post<CreatedTokenAnswer>(ROUTES.createToken.path(), req);
  }

  /** The access tokens: names, roles, queues, expiry, last use (never the tokens). */
  async tokens(): Promise<TokenInfo[]> {
    return (await this.http.get<TokensAnswer>(ROUTES.tokens.path())).tokens;
  }

  /** Revokes a token at once; a worker token's running jobs go back to the queue (`released` of them). */
  /** Every queue with jobs or paused, with its jobs per state. */
  async queues(): Promise<QueueView[]> {
    return (await this.http.get<{ queues: QueueView[] }>(ROUTES.queues.path())).queues;
  }

  /** Pauses (`paused`) or resumes a queue: a paused queue leases nothing; running jobs go on. */
  async pauseQueue(name: string, paused = true): Promise<QueueView> {
    return (await this.http.post<{ queue: QueueView }>((paused ? ROUTES.pauseQueue : ROUTES.resumeQueue).path(name), {})).queue;
  }

  /** Whether `token` is a worker's or an admin's now (worker role; a worker's segment server asks it of its peers' tokens). */
  async checkToken(token: string): Promise<boolean> {
    return (await this.http.post<CheckTokenAnswer>(ROUTES.checkToken.path(), { token })).valid;
  }

  revokeToken(name: string): Promise<RevokedTokenAnswer> {
    return this.http.delete<RevokedTokenAnswer>(ROUTES.revokeToken.path(name));
  }

  health(): Promise<HealthAnswer> {
    return this.http.get<HealthAnswer>(ROUTES.health.path());
  }

  // The worker protocol (the worker token is enough for these).

  /** Claims up to `req.limit` jobs, waiting up to `req.wait` ms for work. */
  lease(req: LeaseRequest, o: { signal?: AbortSignal } = {}): Promise<LeaseAnswer> {
    return this.http.post<LeaseAnswer>(ROUTES.lease.path(), req, { timeoutMs: req.wait + LONG_POLL_SLACK_MS, ...(o.signal ? { signal: o.signal } : {}) });
  }

  /** Renews the leases of running jobs and reports their progress. */
  heartbeat(req: HeartbeatRequest, o: { timeoutMs?: number } = {}): Promise<HeartbeatReply> {
    return this.http.post<HeartbeatReply>(ROUTES.heartbeat.path(), req, o);
  }

  /** Reports outcomes; one answer per item (`stale` when the lease was no longer the caller's). */
  async complete(items: CompleteItem[], o: { timeoutMs?: number } = {}): Promise<CompleteAnswer[]> {
    return (await this.http.post<CompleteReply>(ROUTES.complete.path(), { items }, o)).answers;
  }

  /**
   * Reports outcomes and leases the next jobs in one request (`next`, as `lease` takes it): a
   * worker that finished a job takes the next without a second round trip. `next` in the answer
   * is null from a coordinator older than `next`: the outcomes counted all the same, nothing
   * was leased. The request's bound is `timeoutMs` when given, else the long poll's plus slack.
   */
  async completeAndLease(items: CompleteItem[], next: LeaseRequest, o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ answers: CompleteAnswer[]; next: LeaseAnswer | null }> {
    const reply = await this.http.post<CompleteReply>(ROUTES.complete.path(), { items, next }, { timeoutMs: o.timeoutMs ?? next.wait + LONG_POLL_SLACK_MS, ...(o.signal ? { signal: o.signal } : {}) });
    return { answers: reply.answers, next: reply.next ?? null };
  }

  /** Adds output to a job's log (the coordinator redacts its secrets once more). */
  /** Adds to the log of a job this worker holds (`token`: its lease's). */
  async appendLogs(id: string, token: string, chunks: LogChunk[], o: { timeoutMs?: number } = {}): Promise<void> {
    await this.http.post(ROUTES.appendLogs.path(id), { token, chunks }, o);
  }

  /** Jobs `worker` must stop, waiting up to `waitMs` for one. */
  async stops(worker: string, o: { waitMs: number; signal?: AbortSignal }): Promise<StopOrder[]> {
    return (await this.http.get<StopsAnswer>(ROUTES.stops.path(worker, o.waitMs), { timeoutMs: o.waitMs + LONG_POLL_SLACK_MS, ...(o.signal ? { signal: o.signal } : {}) })).stops;
  }

  /** Closes the keep-alive connections. */
  close(): Promise<void> {
    return this.http.close();
  }
}
