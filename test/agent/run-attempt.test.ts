import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LazyAbort } from '../../src/agent/lazy-abort.js';
import type { LogShipper } from '../../src/agent/log-shipper.js';
import { runAttempt, type AttemptContext, type Running } from '../../src/agent/run-attempt.js';
import type { LeasedJob } from '../../src/core/job.js';
import type { AbortReason, Runner } from '../../src/runners/runner.js';

const DAY = 86_400_000;

/** A runner that works until its signal aborts, then ends as the agent's runners do. */
const untilAborted: Runner = {
  kind: 'wait',
  run: (ctx) =>
    new Promise((resolve) => {
      ctx.signal.addEventListener('abort', () => resolve({ outcome: ctx.signal.reason === 'timed_out' ? 'timed_out' : 'canceled', error: String(ctx.signal.reason) }), { once: true });
    }),
};

function attempt(timeLimitMs: number | null) {
  const job: LeasedJob = {
    id: 'j1',
    queue: 'default',
    kind: 'wait',
    template: null,
    params: {},
    secrets: [],
    owner: null,
    tags: [],
    priority: 0,
    attempt: 1,
    maxAttempts: 1,
    timeLimitMs,
    createdAt: 0,
    lease: { worker: 'w1', token: 't', expiresAt: Number.MAX_SAFE_INTEGER },
  };
  const r: Running = { job, token: 't', abort: new LazyAbort<AbortReason>(), progress: null, secrets: [], hasRun: false, done: Promise.resolve() };
  const logs = { add: () => undefined, flush: async () => undefined, drop: () => undefined } as unknown as LogShipper;
  const c: AttemptContext = {
    worker: 'w1',
    runners: new Map([['wait', untilAborted]]),
    templates: new Map(),
    outputRoot: '/nonexistent',
    logDir: '/nonexistent',
    logs,
    log: pino({ level: 'silent' }),
    progressChanged: () => undefined,
    segmentNodes: async () => [],
    ranOut: () => undefined,
  };
  let item: Awaited<ReturnType<typeof runAttempt>> | undefined;
  const done = runAttempt(r, c).then((it) => (item = it));
  return { r, done, item: () => item };
}

// Fake timers cut delays past 2^31-1 ms to 1 ms, as Node does, so a plain setTimeout fails here.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the worker enforces a job time limit', () => {
  it('of 25 days (over 2^31 ms): the job still runs a day in, and times out at 25 days', async () => {
    const a = attempt(25 * DAY);
    await vi.advanceTimersByTimeAsync(DAY);
    expect(a.r.abort.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(24 * DAY - 1);
    expect(a.r.abort.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await a.done;
    expect(a.r.abort.reason).toBe('timed_out');
    expect(a.item()).toMatchObject({ id: 'j1', outcome: 'timed_out' });
  });

  it('and leaves no timer once the attempt ended otherwise', async () => {
    const a = attempt(30 * DAY);
    await vi.advanceTimersByTimeAsync(1000);
    a.r.abort.abort('canceled');
    await a.done;
    expect(a.item()).toMatchObject({ outcome: 'canceled' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
