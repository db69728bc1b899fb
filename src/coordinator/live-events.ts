import { isFinalState, type Job, type JobState, type Progress } from '../core/job.js';

/** What a job event says of a job: never its params. */
export interface JobEventData {
  id: string;
  state: JobState;
  queue: string | null;
  owner: string | null;
  kind: string | null;
  template: string | null;
  parentId: string | null;
  attempt: number | null;
  /** The job's updatedAt, epoch ms; null when only the state is known (an outcome). */
  updatedAt: number | null;
  error?: string;
}

/** One event of `GET /api/v1/events`. */
export type LiveEvent =
  | { type: 'job'; data: JobEventData }
  | { type: 'progress'; data: { id: string; queue: string | null; progress: Progress } }
  | { type: 'worker'; data: { name: string; event: 'joined' | 'left'; slots: number } };

export type LiveEventType = LiveEvent['type'];
export const LIVE_EVENT_TYPES: readonly LiveEventType[] = ['job', 'progress', 'worker'];

/** Which events a listener wants: null fields let everything through. */
export interface LiveEventFilter {
  types: ReadonlySet<LiveEventType> | null;
  /** Only events of this job (worker events are left out). */
  job: string | null;
  /** Only events of jobs in this queue (worker events are left out). */
  queue: string | null;
}

interface Listener {
  filter: LiveEventFilter;
  send(e: LiveEvent): void;
  end(): void;
}

/** The running jobs remembered for outcome events, at most. */
const MAX_REMEMBERED = 100_000;

/** How often the online workers are compared while someone listens, ms. */
const WORKER_LOOK_MS = 2_000;

/**
 * The coordinator's live events for the dashboard and scripts: job state changes, progress,
 * workers joining and leaving. In memory and of this coordinator only: changes it makes itself
 * (enqueues, leases, outcomes, cancels, retries, maintenance when it leads). Nothing is kept for
 * a listener that was not there: a reconnecting page reads the current state first.
 */
export class LiveEvents {
  private readonly listeners = new Set<Listener>();
  /** What the job events said of the jobs running now, so an outcome ({id, state}) names its queue. */
  private readonly running = new Map<string, JobEventData>();
  private onlineWorkers: Map<string, number> | null = null;
  private workerTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: {
      /** The workers now: name, online, slots. */
      workers: () => Promise<Array<{ name: string; online: boolean; slots: number }>>;
      /** How often workers are compared while someone listens, ms. Default 2000. */
      workerLookMs?: number;
    },
  ) {}

  /** Whether anyone listens (work done only for listeners is skipped otherwise). */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** Calls `send` with each event passing `filter` until the returned function is called; `end` when the bus closes. */
  listen(filter: LiveEventFilter, send: (e: LiveEvent) => void, end: () => void): () => void {
    const l: Listener = { filter, send, end };
    this.listeners.add(l);
    if (this.listeners.size === 1) this.watchWorkers();
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.unwatchWorkers();
    };
  }

  /** Jobs as they are now (created, leased, canceled, retried, requeued, ended). */
  jobs(jobs: readonly Job[]): void {
    for (const j of jobs) {
      // With no one listening, only what outcomes will need: the running jobs.
      if (!this.listening && j.state !== 'running') {
        this.running.delete(j.id);
        continue;
      }
      const data: JobEventData = { id: j.id, state: j.state, queue: j.queue, owner: j.owner, kind: j.kind, template: j.template, parentId: j.parentId, attempt: j.attempt, updatedAt: j.updatedAt, ...(j.error ? { error: j.error } : {}) };
      this.remember(data);
      this.publish({ type: 'job', data });
    }
  }

  /** Outcomes reported by workers: what is known of each job from when it was leased, with its new state. */
  outcomes(items: ReadonlyArray<{ id: string; state: JobState; error?: string | null }>): void {
    for (const it of items) {
      if (!this.listening) {
        if (it.state !== 'running' && it.state !== 'awaiting_children') this.running.delete(it.id);
        continue;
      }
      const known = this.running.get(it.id);
      const data: JobEventData = { id: it.id, state: it.state, queue: known?.queue ?? null, owner: known?.owner ?? null, kind: known?.kind ?? null, template: known?.template ?? null, parentId: known?.parentId ?? null, attempt: known?.attempt ?? null, updatedAt: null, ...(it.error ? { error: it.error } : {}) };
      this.remember(data);
      this.publish({ type: 'job', data });
    }
  }

  /** The ids among these that no job event of this coordinator described (leased elsewhere). */
  unknown(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.running.has(id));
  }

  progress(id: string, progress: Progress): void {
    if (!this.listening) return;
    this.publish({ type: 'progress', data: { id, queue: this.running.get(id)?.queue ?? null, progress } });
  }

  /** Ends every listener (shutdown). */
  close(): void {
    for (const l of [...this.listeners]) l.end();
    this.listeners.clear();
    this.unwatchWorkers();
  }

  private remember(data: JobEventData): void {
    if (data.state === 'running') {
      this.running.set(data.id, data);
      // Jobs that end through another coordinator are never forgotten here: the oldest go first.
      while (this.running.size > MAX_REMEMBERED) this.running.delete(this.running.keys().next().value as string);
    } else if (isFinalState(data.state) || data.state === 'queued' || data.state === 'waiting') this.running.delete(data.id);
  }

  private publish(e: LiveEvent): void {
    for (const l of this.listeners) if (passes(l.filter, e)) l.send(e);
  }

  private watchWorkers(): void {
    this.onlineWorkers = null;
    const look = async () => {
      const now = new Map((await this.o.workers()).filter((w) => w.online).map((w) => [w.name, w.slots]));
      const before = this.onlineWorkers;
      this.onlineWorkers = now;
      if (before === null) return;
      for (const [name, slots] of now) if (!before.has(name)) this.publish({ type: 'worker', data: { name, event: 'joined', slots } });
      for (const [name, slots] of before) if (!now.has(name)) this.publish({ type: 'worker', data: { name, event: 'left', slots } });
    };
    const tick = () => {
      look()
        .catch(() => undefined)
        .finally(() => {
          if (this.listeners.size > 0) this.workerTimer = setTimeout(tick, this.o.workerLookMs ?? WORKER_LOOK_MS).unref();
        });
    };
    tick();
  }

  private unwatchWorkers(): void {
    if (this.workerTimer) clearTimeout(this.workerTimer);
    this.workerTimer = null;
  }
}

function passes(f: LiveEventFilter, e: LiveEvent): boolean {
  if (f.types && !f.types.has(e.type)) return false;
  if (e.type === 'worker') return f.job === null && f.queue === null;
  if (f.job !== null && e.data.id !== f.job) return false;
  return f.queue === null || e.data.queue === f.queue;
}
