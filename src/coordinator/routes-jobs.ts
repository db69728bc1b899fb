import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../core/errors.js';
import { isJobState, redactJob, type JobState } from '../core/job.js';
import type { CountFilter, ListFilter } from '../store/store.js';
import { clientGone, waitMsOf, type HttpOptions } from './http-app.js';

type Query = Record<string, string | undefined>;

/** Client-facing routes: create, list, inspect, cancel and retry jobs; read their logs. */
export function registerJobRoutes(app: FastifyInstance, o: HttpOptions): void {
  const c = o.coordinator;

  app.post('/api/v1/jobs', async (req, reply) => {
    const body = req.body as unknown;
    if (typeof body !== 'object' || body === null) throw new ValidationError('body: expected a job object or {"jobs": [...]}', 'body');
    const batch = Array.isArray((body as { jobs?: unknown }).jobs);
    const inputs = batch ? (body as { jobs: unknown[] }).jobs : [body];
    if ((req.query as Query).dryRun === 'true') return { valid: c.validate(inputs).length };
    const jobs = await c.enqueue(inputs);
    reply.code(201);
    // Big batches need not come back whole: `?return=ids` answers with the new ids only.
    if ((req.query as Query).return === 'ids') return { ids: jobs.map((j) => j.id) };
    return { jobs: jobs.map(redactJob) };
  });

  app.get('/api/v1/jobs', async (req) => {
    const q = req.query as Query;
    const page = await c.store.list(listFilterOf(q));
    return { jobs: page.jobs.map(redactJob), nextCursor: page.nextCursor };
  });

  app.get('/api/v1/jobs/counts', async (req) => ({ counts: await c.store.counts(countFilterOf(req.query as Query)) }));

  app.get('/api/v1/jobs/:id', async (req) => {
    const { id } = req.params as { id: string };
    const job = await c.mustGet(id);
    return { job: redactJob(job), attempts: await c.store.attempts({ jobId: id }) };
  });

  app.post('/api/v1/jobs/:id/cancel', async (req) => ({ job: redactJob(await c.cancel((req.params as { id: string }).id)) }));
  app.post('/api/v1/jobs/:id/retry', async (req) => ({ job: redactJob(await c.retry((req.params as { id: string }).id)) }));

  app.get('/api/v1/jobs/:id/logs', async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = req.query as Query;
    const after = intOf(q.after, 'after', 0);
    const limit = Math.min(intOf(q.limit, 'limit', 1000), 10_000);
    const waitMs = waitMsOf(q.wait, o.maxLongPollMs);
    const signal = c.untilClosed(clientGone(reply));
    const deadline = Date.now() + waitMs;
    for (;;) {
      const job = await c.mustGet(id);
      const chunks = await c.store.readLog({ jobId: id, after, limit });
      const final = job.state !== 'running' && job.state !== 'queued' && job.state !== 'waiting';
      const left = deadline - Date.now();
      if (chunks.length > 0 || final || left <= 0 || signal.aborted) {
        return { chunks, next: chunks.length > 0 ? chunks[chunks.length - 1]!.seq : after, state: job.state };
      }
      // Woken by an append or an outcome; the cap catches changes made by maintenance.
      await c.jobChanged.wait(id, Math.min(left, 1000), signal);
    }
  });

  app.get('/api/v1/templates', async () => ({ templates: o.coordinator.opts.templates.all() }));
  app.get('/api/v1/kinds', async () => ({ kinds: c.knownKinds() }));
  app.get('/api/v1/workers', async () => ({ workers: await c.store.listWorkers() }));
}

function intOf(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError(`${name}: must be a non-negative integer, got "${v}"`, name);
  return n;
}

function countFilterOf(q: Query): CountFilter {
  const f: CountFilter = {};
  for (const k of ['queue', 'owner', 'tag', 'template', 'kind'] as const) if (q[k]) f[k] = q[k];
  if (q.finishedSince) f.finishedSince = intOf(q.finishedSince, 'finishedSince', 0);
  return f;
}

function listFilterOf(q: Query): ListFilter {
  const f: ListFilter = countFilterOf(q);
  if (q.state) {
    const states = q.state.split(',').map((s) => s.trim());
    for (const s of states) if (!isJobState(s)) throw new ValidationError(`state: unknown state "${s}" (waiting, queued, running, succeeded, failed, timed_out, canceled)`, 'state');
    f.state = states as JobState[];
  }
  if (q.cursor) f.cursor = q.cursor;
  if (q.limit) {
    const n = intOf(q.limit, 'limit', 100);
    if (n < 1 || n > 1000) throw new ValidationError('limit: between 1 and 1000', 'limit');
    f.limit = n;
  }
  return f;
}
