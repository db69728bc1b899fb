import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { quantile } from './stats.js';

/** Where an idle worker's enqueue→start went, p50 of each part, ms (the parts' p50s need not add up to the whole's). */
export interface LatencySplit {
  /** The coordinator checking the job before it is stored, and building the lease answer after the claim (Server-Timing `check` of POST /jobs, `answer` of the lease). */
  checkMs: number;
  /** The coordinator's store creating the job (`store` of POST /jobs). */
  storeMs: number;
  /** From the notification of new work to the waiting lease request running again (`wake`). */
  wakeMs: number;
  /** The store's claim (`claim`). */
  claimMs: number;
  /** The rest up to the lease answer's arrival at the worker: the enqueue's way in, the answer's way out (HTTP, routing, JSON). */
  httpMs: number;
  /** From the lease answer's arrival to the runner's start, in the worker. */
  workerStartMs: number;
}

interface Answer {
  /** performance.now() as its headers arrived. */
  at: number;
  timing: Record<string, number>;
}

/**
 * Listens to this process's HTTP answers (undici's diagnostics channel) for the Server-Timing
 * the coordinator sends with enqueue and lease answers; `sample` takes one enqueue→start apart.
 */
export class SplitRecorder {
  private lastEnqueue: Answer | null = null;
  private lastLease: Answer | null = null;
  private readonly parts: { [K in keyof LatencySplit]: number[] } = { checkMs: [], storeMs: [], wakeMs: [], claimMs: [], httpMs: [], workerStartMs: [] };
  private readonly onHeaders = (message: unknown) => {
    const { request, response } = message as { request: { method: string; path: string }; response: { headers: Buffer[] } };
    const timing = serverTimingOf(response.headers);
    if (!timing) return;
    const answer = { at: performance.now(), timing };
    if (request.method === 'POST' && request.path.startsWith('/api/v1/jobs')) this.lastEnqueue = answer;
    else if (timing.claim !== undefined) this.lastLease = answer;
  };

  constructor() {
    diagnostics.subscribe('undici:request:headers', this.onHeaders);
  }

  /** Forgets the answers seen so far: the next sample's are the ones that count. */
  reset(): void {
    this.lastEnqueue = null;
    this.lastLease = null;
  }

  /** One job: its enqueue sent at `sentAt`, its runner started at `startedAt` (performance.now). */
  sample(sentAt: number, startedAt: number): void {
    const e = this.lastEnqueue;
    const l = this.lastLease;
    if (!e || !l || l.at < sentAt) throw new Error('bench: no Server-Timing from the coordinator for this job (older than the bench?)');
    const check = (e.timing.check ?? 0) + (l.timing.answer ?? 0);
    const store = e.timing.store ?? 0;
    const wake = l.timing.wake ?? 0;
    const claim = l.timing.claim ?? 0;
    this.parts.checkMs.push(check);
    this.parts.storeMs.push(store);
    this.parts.wakeMs.push(wake);
    this.parts.claimMs.push(claim);
    this.parts.httpMs.push(l.at - sentAt - check - store - wake - claim);
    this.parts.workerStartMs.push(startedAt - l.at);
  }

  split(): LatencySplit {
    const p = this.parts;
    return { checkMs: quantile(p.checkMs, 0.5), storeMs: quantile(p.storeMs, 0.5), wakeMs: quantile(p.wakeMs, 0.5), claimMs: quantile(p.claimMs, 0.5), httpMs: quantile(p.httpMs, 0.5), workerStartMs: quantile(p.workerStartMs, 0.5) };
  }

  close(): void {
    diagnostics.unsubscribe('undici:request:headers', this.onHeaders);
  }
}

/** `Server-Timing: a;dur=1.5, b;dur=2` among raw headers (name, value, name, value...), as { a: 1.5, b: 2 }. */
function serverTimingOf(raw: Buffer[]): Record<string, number> | null {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (String(raw[i]).toLowerCase() !== 'server-timing') continue;
    const out: Record<string, number> = {};
    for (const part of String(raw[i + 1]).split(',')) {
      const m = /^\s*([\w-]+)\s*;\s*dur=([\d.]+)/.exec(part);
      if (m) out[m[1] as string] = Number(m[2]);
    }
    return out;
  }
  return null;
}

/** The split as one line. */
export function describeSplit(s: LatencySplit): string {
  const f = (ms: number) => ms.toFixed(2);
  return `checks ${f(s.checkMs)}, store ${f(s.storeMs)}, wake-up ${f(s.wakeMs)}, claim ${f(s.claimMs)}, HTTP both ways ${f(s.httpMs)}, worker start ${f(s.workerStartMs)} ms`;
}
