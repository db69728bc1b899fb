import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { ApiError } from '../client/api-client.js';
import { DroverClient } from '../client/drover-client.js';
import { errorMessage } from '../core/errors.js';
import { PROTOCOL_DEFAULTS } from '../protocol/defaults.js';
import { secretValuesOf, type LeasedJob } from '../core/job.js';
import type { CompleteItem, WorkerInfo } from '../core/reports.js';
import type { LeaseAnswer } from '../protocol/messages.js';
import { VERSION } from '../core/version.js';
import type { AbortReason, Runner } from '../runners/runner.js';
import { runningDir } from '../runners/shared/pid-path.js';
import { summarizeTemplate, type Template } from '../runners/template.js';
import { killRecordedGroups } from '../supervise/pid-file.js';
import { AGENT_DEFAULTS } from './defaults.js';
import { Heartbeat } from './heartbeat.js';
import { LogShipper } from './log-shipper.js';
import { OutcomeReporter, type NextLease } from './reporter.js';
import { Slots } from './slots.js';
import { Outbox } from './outbox.js';
import { LazyAbort } from './lazy-abort.js';
import { runAttempt, type Running } from './run-attempt.js';
import { reconnectDelay, sleep } from './retry.js';

/** Workers with at least this many slots run two lease loops, and report outcomes without a lease. */
const LEASE_LOOPS_FROM = 64;
/** Progress is sent at most this often, ms, and at most this long after it changed. */
const PROGRESS_REPORT_MS = 1_000;

/** How long a stopping worker tries to deliver outcomes still unreported, ms. */
const REPORT_DRAIN_MS = 10_000;
/** The shortest bound on a heartbeat, report or log request, ms. */
const MIN_REQUEST_MS = 1_000;

export interface AgentOptions {
  name: string;
  /** Coordinator URLs; the agent fails over between them. */
  servers: string[];
  token?: string;
  /** PEM certificates trusted for an https:// coordinator besides Node's (`worker.ca_file`). */
  ca?: string;
  /** Its client certificate and key, PEM (`worker.client_cert`, mutual TLS). */
  clientCert?: { cert: string; key: string };
  /** Jobs run at once. */
  concurrency: number;
  /** Queues to take jobs from; empty = all. */
  queues: string[];
  runners: Runner[];
  /** Templates from this worker's own config: the only commands it will run. */
  templates: Map<string, Template>;
  /** Where jobs write output (absolute or relative to cwd). */
  outputRoot: string;
  /** Where per-job log files go. */
  logDir: string;
  /** The names of this worker's destinations, told to the coordinator (it warns of jobs naming another). */
  destinations?: string[];
  /** This worker's node (`worker.segments.node`): it also runs the jobs for it. */
  node?: string;
  /** Its segment server and the channels it holds, told to the coordinator (a mirror's peers come from there). */
  segments?: { url: string; channels(): string[] };
  /** After SIGTERM: how long running jobs may go on before they are stopped and given back, ms. Default 30000. */
  shutdownGraceMs?: number;
  /** Long-poll length of lease and stop requests, ms. Default 30000. */
  longPollMs?: number;
  logger: Logger;
}

/**
 * What a reload (SIGHUP) changes in a running worker. Jobs already running keep the runner and
 * template they started with; the rest (name, servers, output root, log dir) takes a restart.
 */
export type AgentReload = Pick<AgentOptions, 'concurrency' | 'queues' | 'runners' | 'templates' | 'destinations' | 'shutdownGraceMs'>;

/**
 * The worker agent: leases jobs up to its free slots, runs each through the runner of its kind,
 * heartbeats leases and progress, reports outcomes. It never touches a database.
 */
export class Agent {
  private readonly api: DroverClient;
  private readonly reporter: OutcomeReporter;
  private readonly logs: LogShipper;
  private readonly outbox: Outbox;
  private runners: Map<string, Runner>;
  /** Jobs whose run is going on: each holds a slot. */
  private readonly running = new Map<string, Running>();
  /**
   * Jobs whose run is over and whose outcome is on its way: no slot (another job may start),
   * but their leases are still renewed until the coordinator has the outcome.
   */
  private readonly reporting = new Map<string, Running>();
  /** The coordinator's lease TTL, ms, as its last lease answer said (PROTOCOL_DEFAULTS until then). */
  private leaseTtlMs: number = PROTOCOL_DEFAULTS.leaseTtlMs;
  private readonly stopLeasing = new AbortController();
  private readonly stopAll = new AbortController();
  private readonly outputRoot: string;
  private readonly logDir: string;
  /** A shutdown waiting for runs to end. */
  private readonly runEndWaiters: Array<() => void> = [];
  /** The lease requests in flight, with when each was sent (performance.now), to start again after an outage (renewLeasePolls). */
  private readonly leasePolls = new Map<AbortController, number>();
  private readonly slots: Slots;
  private readonly heartbeat: Heartbeat;
  private readonly longPollMs: number;
  private shutdownGraceMs: number;
  private progressTimer: NodeJS.Timeout | null = null;
  private loops: Promise<void>[] = [];
  private readonly log: Logger;
  /** Jobs started since the agent began. */
  started = 0;

  constructor(private o: AgentOptions) {
    this.api = new DroverClient({ server: o.servers, ...(o.token ? { token: o.token } : {}), ...(o.ca ? { ca: o.ca } : {}), ...(o.clientCert ? { clientCert: o.clientCert } : {}) });
    this.longPollMs = o.longPollMs ?? AGENT_DEFAULTS.longPollMs;
    this.shutdownGraceMs = o.shutdownGraceMs ?? AGENT_DEFAULTS.shutdownGraceMs;
    this.log = o.logger.child({ worker: o.name });
    this.slots = new Slots(() => this.o.concurrency, () => this.running.size);
    this.reporter = new OutcomeReporter(this.api, this.log, () => this.requestMs(), () => this.leaseWithReport());
    this.logs = new LogShipper(this.api, this.log, () => this.requestMs());
    this.heartbeat = new Heartbeat({
      api: this.api,
      log: this.log,
      name: o.name,
      requestMs: () => this.requestMs(),
      running: () => this.running,
      held: () => [...this.running.values(), ...this.reporting.values()],
      info: () => this.info(),
      reachableAgain: (failedAt) => this.renewLeasePolls(failedAt),
    });
    this.runners = new Map(o.runners.map((r) => [r.kind, r]));
    // Resolved once: the working directory does not change under a running worker.
    this.outputRoot = path.resolve(o.outputRoot);
    this.logDir = path.resolve(o.logDir);
    fs.mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
    this.outbox = new Outbox(path.join(this.logDir, 'outbox', encodeURIComponent(o.name)));
  }

  /** What the coordinator is told about this worker, with each lease request. */
  info(): WorkerInfo {
    const kinds = [...this.runners.keys()];
    const templates = [...this.o.templates.values()].filter((t) => this.runners.has(t.kind)).map(summarizeTemplate);
    return {
      name: this.o.name,
      host: os.hostname(),
      kinds,
      templates,
      slots: this.o.concurrency,
      running: this.running.size,
      version: VERSION,
      ...(this.o.destinations ? { destinations: this.o.destinations } : {}),
      ...(this.o.node ? { node: this.o.node } : {}),
      ...(this.o.segments ? { segments: { url: this.o.segments.url, channels: this.o.segments.channels() } } : {}),
    };
  }

  /** Applies a reload: new jobs see it at once, running ones go on as they started; the coordinator hears of it with the next heartbeat, sent now. */
  reconfigure(next: AgentReload): void {
    this.o = { ...this.o, ...next };
    this.runners = new Map(next.runners.map((r) => [r.kind, r]));
    this.shutdownGraceMs = next.shutdownGraceMs ?? AGENT_DEFAULTS.shutdownGraceMs;
    this.log.info({ slots: next.concurrency, running: this.running.size, templates: [...next.templates.keys()], destinations: next.destinations ?? [] }, 'configuration reloaded');
    this.slots.wake();
    this.heartbeat.describeAgain();
  }

  start(): void {
    // Process groups a previous run of this worker left behind (it was killed) must not run on
    // beside the new attempts of their jobs elsewhere.
    const orphans = killRecordedGroups(runningDir(this.logDir));
    if (orphans.length > 0) this.log.warn({ pids: orphans }, 'killed process groups left by an earlier run of this worker');
    for (const item of this.outbox.pending()) void this.deliverLeftover(item);
    // Two lease loops on a big worker: one request is in flight while the other's jobs start,
    // so neither this process nor the coordinator waits on the other.
    const leasers = this.o.concurrency >= LEASE_LOOPS_FROM ? 2 : 1;
    this.loops = [...Array.from({ length: leasers }, () => this.leaseLoop(leasers)), this.heartbeat.loop(this.stopAll.signal), this.stopsLoop()];
  }

  /**
   * Graceful stop: no more leases; running jobs get `shutdownGraceMs` to finish, then they are
   * stopped and given back to the queue; outcomes and logs are flushed.
   */
  async shutdown(): Promise<void> {
    if (this.stopLeasing.signal.aborted) return this.finished();
    this.log.info({ running: this.running.size, graceMs: this.shutdownGraceMs }, 'shutting down: no new jobs');
    this.stopLeasing.abort();
    this.slots.wake();
    // Waits on the runs, not on their reports: with the coordinator unreachable a report may
    // never arrive, and the drain below bounds that wait.
    const all = this.allRan();
    const inTime = await Promise.race([all.then(() => true), sleep(this.shutdownGraceMs).then(() => false)]);
    if (!inTime) {
      this.log.warn({ running: this.running.size }, 'grace period over: stopping jobs and giving them back');
      for (const r of this.running.values()) r.abort.abort('shutdown' satisfies AbortReason);
      await all;
    }
    const reported = Promise.all([...this.running.values(), ...this.reporting.values()].map((r) => r.done));
    const delivered = await Promise.race([reported.then(() => true), sleep(REPORT_DRAIN_MS).then(() => false)]);
    if (!delivered) this.log.error({ undelivered: this.reporter.backlog }, 'coordinator unreachable: outcomes not delivered before exit; kept to be delivered at the next start (they count while no other worker took the job)');
    // So that lists show it offline now, not a lease TTL later; the coordinator may be gone already.
    else await this.api.heartbeat({ worker: { name: this.o.name, running: 0, info: { ...this.info(), stopped: true } }, jobs: [] }).catch(() => undefined);
    return this.finished();
  }

  private async finished(): Promise<void> {
    this.stopAll.abort();
    this.reporter.stop();
    await Promise.allSettled(this.loops);
    await this.api.close();
  }

  /**
   * The bound on a heartbeat, report or log request: a third of the lease TTL (10 s by
   * default). A coordinator that stopped answering shows within it, and the request is tried
   * again twice before the leases run out, instead of one request outliving them.
   */
  private requestMs(): number {
    return Math.max(MIN_REQUEST_MS, Math.floor(this.leaseTtlMs / 3));
  }

  private async leaseLoop(loops: number): Promise<void> {
    let failures = 0;
    const signal = this.stopLeasing.signal;
    while (!signal.aborted) {
      if (this.slots.free() <= 0) {
        await this.slots.waitForOne();
        continue;
      }
      const limit = Math.min(this.slots.free(), Math.ceil(this.o.concurrency / loops));
      this.slots.reserve(limit);
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        this.slots.release(limit);
      };
      const poll = new AbortController();
      this.leasePolls.set(poll, performance.now());
      try {
        const res = await this.api.lease({ worker: this.info(), queues: this.o.queues, limit, wait: this.longPollMs }, { signal: AbortSignal.any([signal, poll.signal]) });
        if (failures > 0) this.log.info({ server: this.api.server }, 'coordinator reachable again');
        failures = 0;
        release();
        this.tookLease(res);
      } catch (err) {
        release();
        if (signal.aborted) break;
        if (poll.signal.aborted) continue;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 400)) {
          this.log.error({ err: err.message }, 'the coordinator refused this worker');
        }
        const delay = reconnectDelay(++failures);
        this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'cannot lease jobs; retrying');
        await sleep(delay, signal);
      } finally {
        this.leasePolls.delete(poll);
      }
    }
  }

  /** A lease answer, to the lease loop or with a report: the coordinator's timings, and its jobs started. */
  private tookLease(res: LeaseAnswer): void {
    this.leaseTtlMs = res.leaseTtlMs;
    // The coordinator sets the pace; a shorter interval must apply before the first beat.
    this.heartbeat.setInterval(res.heartbeatIntervalMs);
    for (const job of res.jobs) this.startJob(job);
  }

  /**
   * The lease that goes with a batch of outcomes: for the slots their runs held (Slots.hold), no
   * long poll, so the report is answered at once. What it does not fill goes back to the lease loop.
   */
  private leaseWithReport(): NextLease | null {
    const limit = this.slots.takeHeld();
    if (limit === 0) return null;
    if (this.stopLeasing.signal.aborted) {
      this.slots.release(limit);
      return null;
    }
    return {
      request: { worker: this.info(), queues: this.o.queues, limit, wait: 0 },
      settle: (answer) => {
        this.slots.release(limit);
        if (!answer) return;
        if (this.stopLeasing.signal.aborted) void this.giveBack(answer.jobs);
        else this.tookLease(answer);
      },
    };
  }

  /** Jobs leased as the worker began to stop: given back unstarted (else they wait out their lease). */
  private async giveBack(jobs: LeasedJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const items = jobs.map((j) => ({ id: j.id, token: j.lease?.token ?? '', outcome: 'failed' as const, retryable: true, release: true, error: `worker ${this.o.name} was shutting down; given back unstarted` }));
    await this.api.complete(items, { timeoutMs: this.requestMs() }).catch((err: unknown) => this.log.warn({ err: errorMessage(err), jobs: jobs.length }, 'cannot give back jobs leased while shutting down: they wait out their lease'));
  }

  /**
   * Starts again the lease requests sent before `failedAt` (when the last heartbeat was given
   * up on): called when a heartbeat is answered after some were not. A lease
   * request sent into an outage waits out its long poll on a connection nobody answers (30 s
   * by default, past the outage's end); a new one is answered now. Those sent since may be
   * answered as usual and are left alone: the coordinator gives back what it claimed for a
   * request it sees go, but an answer on its way when the request goes is not seen.
   */
  private renewLeasePolls(failedAt: number): void {
    for (const [p, sentAt] of this.leasePolls) if (sentAt < failedAt) p.abort();
  }

  /**
   * Marks a run over: its slot is free at once (the outcome and the last logs are delivered
   * meanwhile, which can take long when the coordinator is unreachable); wakes a shutdown
   * waiting for runs to end.
   */
  private ranOut(r: Running): void {
    if (r.hasRun) return;
    r.hasRun = true;
    if (this.running.delete(r.job.id)) {
      this.reporting.set(r.job.id, r);
      // On a small worker its outcome goes with a lease for its slot, one request instead of two:
      // with many workers the coordinator answers fewer requests and keeps their slots fuller. A
      // big one leases for many slots at once already, and reports in batches: a slot held for
      // the batch after the one in flight would wait longer than the lease loop takes to fill it.
      // A lost lease reports nothing: its slot is free now.
      if (this.o.concurrency < LEASE_LOOPS_FROM && r.abort.reason !== 'lost' && !this.stopLeasing.signal.aborted) this.slots.hold();
    }
    this.slots.wake();
    for (const w of this.runEndWaiters.splice(0)) w();
  }

  /** Resolves once every job now held has finished running. */
  private async allRan(): Promise<void> {
    while ([...this.running.values()].some((r) => !r.hasRun)) await new Promise<void>((resolve) => this.runEndWaiters.push(resolve));
  }

  private startJob(job: LeasedJob): void {
    const token = job.lease?.token;
    if (!token) return;
    const abort = new LazyAbort<AbortReason>();
    const entry: Running = { job, token, abort, progress: null, secrets: secretValuesOf(job.params, job.secrets), hasRun: false, done: Promise.resolve() };
    this.running.set(job.id, entry);
    this.started++;
    entry.done = this.runJob(entry).finally(() => {
      this.ranOut(entry);
      this.reporting.delete(job.id);
    });
  }

  private async runJob(r: Running): Promise<void> {
    const item = await runAttempt(r, {
      worker: this.o.name,
      runners: this.runners,
      templates: this.o.templates,
      outputRoot: this.outputRoot,
      logDir: this.logDir,
      logs: this.logs,
      log: this.log,
      progressChanged: () => this.progressChanged(),
      segmentNodes: () => this.api.segmentNodes(),
      ...(this.o.token ? { token: this.o.token } : {}),
      ranOut: () => this.ranOut(r),
    });
    if (item === null) return;
    const unkept = this.outbox.put(item);
    if (unkept) this.log.warn({ job: r.job.id, err: unkept.message }, 'cannot keep the outcome in the outbox; reporting it all the same');
    const answer = await this.reporter.report(item);
    // Null: the worker stopped first; the outcome stays for its next start.
    if (answer !== null) this.outbox.remove(item.id);
    if (answer?.status === 'stale') this.log.warn({ job: r.job.id }, 'outcome refused: the lease was no longer ours');
    else if (answer?.late) this.log.warn({ job: r.job.id }, 'outcome counted after the lease had expired: no other worker had taken the job');
    else this.log.debug({ job: r.job.id, outcome: item.outcome, state: answer?.status === 'ok' ? answer.state : undefined }, 'job done');
  }

  /** An outcome an earlier run of this worker could not deliver (it was killed): delivered now. */
  private async deliverLeftover(item: CompleteItem): Promise<void> {
    const answer = await this.reporter.report(item);
    if (answer === null) return;
    this.outbox.remove(item.id);
    this.log.info({ job: item.id, outcome: item.outcome, answer: answer.status, ...(answer.status === 'ok' && answer.late ? { late: true } : {}) }, 'delivered an outcome left by an earlier run of this worker');
  }

  /**
   * Progress reaches the coordinator within PROGRESS_REPORT_MS of changing, not only with the
   * next heartbeat (10 s by default): `drover jobs` shows a download's bytes and speed live.
   */
  private progressChanged(): void {
    if (this.progressTimer) return;
    this.progressTimer = setTimeout(() => {
      this.progressTimer = null;
      this.heartbeat.beatSoon();
    }, PROGRESS_REPORT_MS);
    this.progressTimer.unref();
  }

  private async stopsLoop(): Promise<void> {
    let failures = 0;
    const signal = this.stopAll.signal;
    while (!signal.aborted) {
      try {
        const stops = await this.api.stops(this.o.name, { waitMs: this.longPollMs, signal });
        failures = 0;
        let acted = false;
        for (const s of stops) {
          const r = this.running.get(s.id);
          if (r && !r.abort.aborted) {
            this.log.info({ job: s.id, reason: s.reason }, 'told to stop');
            r.abort.abort(s.reason);
            acted = true;
          }
        }
        // The coordinator answers at once while stops are pending; wait for them to clear.
        if (stops.length > 0 && !acted) await sleep(200, signal);
      } catch (err) {
        if (signal.aborted) break;
        await sleep(reconnectDelay(++failures), signal);
      }
    }
  }
}
