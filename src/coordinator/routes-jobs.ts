import type { FastifyInstance } from 'fastify';
import { redactJob } from '../core/job.js';
import { LOGS_DEFAULTS } from '../protocol/defaults.js';
import { countFilterOf, intOf, listFilterOf, waitOf } from '../protocol/query.js';
import { ROUTES } from '../protocol/routes.js';
import type { CountsAnswer, DryRunAnswer, EnqueueAnswer, EnqueueIdsAnswer, JobAnswer, JobDetail, KindsAnswer, ListAnswer, LogsAnswer, PruneAnswer, PurgeAnswer, ScheduleAnswer, SchedulesAnswer, StatsAnswer, TemplatesAnswer, WorkersAnswer } from '../protocol/messages.js';
import { enqueueBodyOf, purgeRequestOf } from '../protocol/validate.js';
import { clientGone, type HttpOptions } from './http-context.js';
import { ServerTiming } from './server-timing.js';
import { idempotencyKeyOf } from './enqueue-keys.js';

type Query = Record<string, string | undefined>;
type IdParams = { id: string };

/** Client-facing routes: create, list, inspect, wait for, cancel and retry jobs; read their logs. Only HTTP here. */
export function registerJobRoutes(app: FastifyInstance, o: HttpOptions): void {
  const c = o.coordinator;

  app.post(ROUTES.enqueue.pattern, async (req, reply): Promise<EnqueueAnswer | EnqueueIdsAnswer | DryRunAnswer> => {
    const inputs = enqueueBodyOf(req.body);
    const q = req.query as Query;
    if (q.dryRun === 'true') return { valid: c.validate(inputs).length };
    const timing = new ServerTiming();
    const { jobs, warnings, replayed } = await c.enqueue(inputs, { idempotencyKey: idempotencyKeyOf(req.headers['idempotency-key']), timing });
    reply.code(201);
    const timed = timing.header();
    if (timed) reply.header('server-timing', timed);
    // The same answer as the first time (the jobs as they are now), marked as a replay.
    if (replayed) reply.header('idempotent-replayed', 'true');
    const warned = warnings.length > 0 ? { warnings } : {};
    // Big batches need not come back whole: `?return=ids` answers with the new ids only.
    if (q.return === 'ids') return { ids: jobs.map((j) => j.id), ...warned };
    return { jobs: jobs.map(redactJob), ...warned };
  });

  app.get(ROUTES.list.pattern, async (req): Promise<ListAnswer> => {
    const page = await c.list(listFilterOf(req.query as Query));
    const waiting = await c.waitReasons(page.jobs);
    return { jobs: page.jobs.map(redactJob), nextCursor: page.nextCursor, ...(Object.keys(waiting).length > 0 ? { waiting } : {}) };
  });

  app.get(ROUTES.counts.pattern, async (req): Promise<CountsAnswer> => ({ counts: await c.counts(countFilterOf(req.query as Query)) }));

  app.get(ROUTES.job.pattern, async (req): Promise<JobDetail> => {
    const { job, attempts } = await c.detail((req.params as IdParams).id);
    const waiting = (await c.waitReasons([job]))[job.id];
    return { job: redactJob(job), attempts, ...(waiting ? { waiting } : {}) };
  });

  app.get(ROUTES.waitJob.pattern, async (req, reply): Promise<JobAnswer> => {
    const q = req.query as Query;
    const job = await c.waitForJob({ id: (req.params as IdParams).id, since: intOf(q.since, 'since', 0), waitMs: waitOf(q.wait), signal: clientGone(reply) });
    return { job: redactJob(job) };
  });

  app.post(ROUTES.cancel.pattern, async (req): Promise<JobAnswer> => ({ job: redactJob(await c.cancel((req.params as IdParams).id)) }));
  app.post(ROUTES.retry.pattern, async (req): Promise<JobAnswer> => ({ job: redactJob(await c.retry((req.params as IdParams).id)) }));

  app.get(ROUTES.readLogs.pattern, async (req, reply): Promise<LogsAnswer> => {
    const q = req.query as Query;
    return c.readLogs({
      jobId: (req.params as IdParams).id,
      after: intOf(q.after, 'after', 0),
      limit: Math.min(intOf(q.limit, 'limit', LOGS_DEFAULTS.limit), LOGS_DEFAULTS.maxLimit),
      waitMs: waitOf(q.wait),
      signal: clientGone(reply),
    });
  });

  app.get(ROUTES.templates.pattern, async (): Promise<TemplatesAnswer> => ({ templates: c.templates() }));
  app.get(ROUTES.kinds.pattern, async (): Promise<KindsAnswer> => ({ kinds: c.knownKinds(), params: c.kindParams() }));
  app.get(ROUTES.workers.pattern, async (req): Promise<WorkersAnswer> => ({ workers: await c.registry.list({ all: (req.query as Query).all === 'true' }) }));
  app.post(ROUTES.pruneWorkers.pattern, async (): Promise<PruneAnswer> => ({ deleted: await c.registry.prune() }));
  app.get(ROUTES.stats.pattern, async (): Promise<StatsAnswer> => c.stats());
  app.post(ROUTES.purge.pattern, async (req): Promise<PurgeAnswer> => ({ deleted: await c.purge(purgeRequestOf(req.body)) }));

  app.get(ROUTES.schedules.pattern, async (): Promise<SchedulesAnswer> => ({ schedules: await c.schedules.list() }));
  const view = async (name: string): Promise<ScheduleAnswer> => ({ schedule: await c.schedules.view(name) });
  app.post(ROUTES.putSchedule.pattern, async (req): Promise<ScheduleAnswer> => view((await c.schedules.put(req.body)).name));
  app.delete(ROUTES.deleteSchedule.pattern, async (req, reply) => {
    await c.schedules.remove((req.params as { name: string }).name);
    reply.code(204);
  });
  app.post(ROUTES.pauseSchedule.pattern, async (req): Promise<ScheduleAnswer> => view((await c.schedules.setPaused((req.params as { name: string }).name, true)).name));
  app.post(ROUTES.resumeSchedule.pattern, async (req): Promise<ScheduleAnswer> => view((await c.schedules.setPaused((req.params as { name: string }).name, false)).name));
}
