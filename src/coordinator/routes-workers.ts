import type { FastifyInstance } from 'fastify';
import { ConflictError, ValidationError } from '../core/errors.js';
import { toLeasedJob, type Outcome } from '../core/job.js';
import type { CompleteItem, HeartbeatItem, LogChunk, WorkerInfo } from '../store/store.js';
import { clientGone, waitMsOf, type HttpOptions } from './http-app.js';

const OUTCOMES: readonly Outcome[] = ['succeeded', 'failed', 'timed_out', 'canceled'];
const worker = { config: { role: 'worker' as const } };

/** Routes the worker agents use: lease, heartbeat, report outcomes, ship logs, hear stops. */
export function registerWorkerRoutes(app: FastifyInstance, o: HttpOptions): void {
  const c = o.coordinator;

  app.post('/api/v1/lease', worker, async (req, reply) => {
    const b = obj(req.body, 'body');
    const info = workerInfoOf(b.worker);
    const limit = b.limit === undefined ? 1 : b.limit;
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0 || limit > 10_000) throw new ValidationError('limit: an integer from 0 to 10000', 'limit');
    const queues = stringArray(b.queues ?? [], 'queues');
    const jobs = await c.lease({ worker: info, queues, limit, waitMs: waitMsOf(b.wait, o.maxLongPollMs), signal: clientGone(reply) });
    return { jobs: jobs.map(toLeasedJob), leaseTtlMs: c.opts.leaseTtlMs, heartbeatIntervalMs: c.opts.heartbeatIntervalMs };
  });

  app.post('/api/v1/heartbeat', worker, async (req) => {
    const b = obj(req.body, 'body');
    const info = workerInfoOf(b.worker);
    const items = arr(b.jobs ?? [], 'jobs').map((x, i): HeartbeatItem => {
      const it = obj(x, `jobs[${i}]`);
      return { id: str(it.id, `jobs[${i}].id`), token: str(it.token, `jobs[${i}].token`), progress: (it.progress as HeartbeatItem['progress']) ?? null };
    });
    return { answers: await c.heartbeat({ worker: info, items }), leaseTtlMs: c.opts.leaseTtlMs };
  });

  app.post('/api/v1/complete', worker, async (req) => {
    const b = obj(req.body, 'body');
    const items = arr(b.items, 'items').map((x, i) => completeItemOf(x, `items[${i}]`));
    return { answers: await c.complete(items) };
  });

  const single = (outcome: Outcome | null) => async (req: { params: unknown; body: unknown }) => {
    const { id } = req.params as { id: string };
    const item = completeItemOf({ ...obj(req.body, 'body'), id, ...(outcome ? { outcome } : {}) }, 'body');
    const [answer] = await c.complete([item]);
    if (!answer || answer.status === 'stale') throw new ConflictError(`job ${id}: the lease token is stale (the job was reassigned, canceled or already reported)`);
    return { state: answer.state };
  };
  app.post('/api/v1/jobs/:id/complete', worker, single('succeeded'));
  app.post('/api/v1/jobs/:id/fail', worker, single(null));

  app.post('/api/v1/jobs/:id/logs', worker, async (req, reply) => {
    const { id } = req.params as { id: string };
    const b = obj(req.body, 'body');
    const chunks = arr(b.chunks, 'chunks').map((x, i): LogChunk => {
      const ch = obj(x, `chunks[${i}]`);
      return { stream: str(ch.stream, `chunks[${i}].stream`), text: typeof ch.text === 'string' ? ch.text : '', ...(typeof ch.ts === 'number' ? { ts: ch.ts } : {}) };
    });
    await c.appendLog(id, chunks);
    reply.code(204);
  });

  app.get('/api/v1/workers/:name/stops', worker, async (req, reply) => {
    const { name } = req.params as { name: string };
    const waitMs = waitMsOf((req.query as { wait?: string }).wait, o.maxLongPollMs);
    const signal = c.untilClosed(clientGone(reply));
    const deadline = Date.now() + waitMs;
    let stops = await c.store.stopsFor({ worker: name });
    while (stops.length === 0 && !signal.aborted && Date.now() < deadline) {
      await c.stops.wait(name, Math.min(deadline - Date.now(), c.pollSliceMs()), signal);
      stops = await c.store.stopsFor({ worker: name });
    }
    return { stops };
  });
}

function completeItemOf(x: unknown, at: string): CompleteItem {
  const it = obj(x, at);
  const outcome = it.outcome;
  if (typeof outcome !== 'string' || !(OUTCOMES as readonly string[]).includes(outcome)) throw new ValidationError(`${at}.outcome: one of ${OUTCOMES.join(', ')}`, `${at}.outcome`);
  if (it.error !== undefined && it.error !== null && typeof it.error !== 'string') throw new ValidationError(`${at}.error: must be a string`, `${at}.error`);
  if (it.retryable !== undefined && typeof it.retryable !== 'boolean') throw new ValidationError(`${at}.retryable: must be true or false`, `${at}.retryable`);
  return {
    id: str(it.id, `${at}.id`),
    token: str(it.token, `${at}.token`),
    outcome: outcome as Outcome,
    result: it.result,
    error: (it.error as string | null | undefined) ?? null,
    ...(it.retryable === undefined ? {} : { retryable: it.retryable as boolean }),
    ...(it.release === true ? { release: true } : {}),
    ...(it.progress === undefined ? {} : { progress: it.progress as CompleteItem['progress'] }),
  };
}

function workerInfoOf(x: unknown): WorkerInfo {
  const w = obj(x, 'worker');
  const name = str(w.name, 'worker.name');
  if (!/^[A-Za-z0-9_.:@-]{1,128}$/.test(name)) throw new ValidationError('worker.name: letters, digits and _ . : @ - only, at most 128', 'worker.name');
  return {
    name,
    host: typeof w.host === 'string' ? w.host : '',
    kinds: stringArray(w.kinds ?? [], 'worker.kinds'),
    templates: arr(w.templates ?? [], 'worker.templates').map((t, i) => {
      const tt = obj(t, `worker.templates[${i}]`);
      str(tt.name, `worker.templates[${i}].name`);
      return tt as unknown as WorkerInfo['templates'][number];
    }),
    slots: typeof w.slots === 'number' ? w.slots : 0,
    running: typeof w.running === 'number' ? w.running : 0,
    version: typeof w.version === 'string' ? w.version : '',
  };
}

function obj(x: unknown, at: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ValidationError(`${at}: must be a JSON object`, at);
  return x as Record<string, unknown>;
}
function arr(x: unknown, at: string): unknown[] {
  if (!Array.isArray(x)) throw new ValidationError(`${at}: must be an array`, at);
  return x;
}
function str(x: unknown, at: string): string {
  if (typeof x !== 'string' || x.length === 0) throw new ValidationError(`${at}: must be a non-empty string`, at);
  return x;
}
function stringArray(x: unknown, at: string): string[] {
  const a = arr(x, at);
  if (a.some((v) => typeof v !== 'string')) throw new ValidationError(`${at}: must be an array of strings`, at);
  return a as string[];
}
