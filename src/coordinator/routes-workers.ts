import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError } from '../core/errors.js';
import { toLeasedJob, type Outcome } from '../core/job.js';
import { waitOf } from '../protocol/query.js';
import { ROUTES } from '../protocol/routes.js';
import type { CompleteReply, HeartbeatReply, LeaseAnswer, LeaseRequest, SegmentNodesAnswer, SingleCompleteAnswer, StopsAnswer } from '../protocol/messages.js';
import { appendLogsRequestOf, completeRequestOf, heartbeatRequestOf, leaseRequestOf, singleCompleteOf } from '../protocol/validate.js';
import { checkWorkerName, leaseQueues } from './auth.js';
import { ServerTiming } from './server-timing.js';
import { clientGone, type HttpOptions } from './http-context.js';

const worker = { config: { role: 'worker' as const } };

/** Routes the worker agents use: lease, heartbeat, report outcomes, ship logs, hear stops. Only HTTP here. */
export function registerWorkerRoutes(app: FastifyInstance, o: HttpOptions): void {
  const c = o.coordinator;

  /** A lease as the token may ask it: a worker token leases as its own worker, from its own queues (403 else). */
  const permitted = (req: FastifyRequest, r: LeaseRequest): LeaseRequest => {
    checkWorkerName(req.principal, r.worker.name);
    return { ...r, queues: leaseQueues(req.principal, r.queues) };
  };

  const lease = async (req: FastifyRequest, reply: FastifyReply, r: LeaseRequest): Promise<LeaseAnswer> => {
    const timing = new ServerTiming();
    let jobs = await c.lease({ worker: r.worker, queues: r.queues, limit: r.limit, waitMs: r.wait, signal: clientGone(reply), timing });
    const leasedAt = performance.now();
    // A long poll outlives a revocation made meanwhile: its jobs (and their secrets) are not handed to a token no longer valid.
    if (jobs.length > 0 && req.principal && !(await c.tokens.stillValid(req.principal))) {
      await c.complete(jobs.map((j) => ({ id: j.id, token: j.lease?.token ?? '', outcome: 'failed' as const, release: true, error: 'the token was revoked' })));
      jobs = [];
    }
    const answer = { jobs: jobs.map(toLeasedJob), leaseTtlMs: c.leaseTtlMs, heartbeatIntervalMs: c.heartbeatIntervalMs };
    if (jobs.length > 0) {
      timing.add('answer', performance.now() - leasedAt);
      reply.header('server-timing', timing.header());
    }
    return answer;
  };

  app.post(ROUTES.lease.pattern, worker, async (req, reply): Promise<LeaseAnswer> => lease(req, reply, permitted(req, leaseRequestOf(req.body))));

  app.post(ROUTES.heartbeat.pattern, worker, async (req): Promise<HeartbeatReply> => {
    const r = heartbeatRequestOf(req.body);
    checkWorkerName(req.principal, r.worker.name);
    return { answers: await c.heartbeat({ worker: r.worker, items: r.jobs }), leaseTtlMs: c.leaseTtlMs };
  });

  app.get(ROUTES.segmentNodes.pattern, worker, async (): Promise<SegmentNodesAnswer> => ({ nodes: await c.registry.segmentNodes() }));

  app.post(ROUTES.complete.pattern, worker, async (req, reply): Promise<CompleteReply> => {
    const r = completeRequestOf(req.body);
    // Checked before the outcomes count: a lease part the token may not ask is refused whole.
    const next = r.next ? permitted(req, r.next) : null;
    const answers = await c.complete(r.items);
    return next ? { answers, next: await lease(req, reply, next) } : { answers };
  });

  const single = (outcome: Outcome | null) => async (req: { params: unknown; body: unknown }): Promise<SingleCompleteAnswer> => {
    const { id } = req.params as { id: string };
    const [answer] = await c.complete([singleCompleteOf(id, req.body, outcome)]);
    if (!answer || answer.status === 'stale') throw new ConflictError(`job ${id}: the lease token is stale (the job was reassigned, canceled or already reported)`);
    return { state: answer.state };
  };
  app.post(ROUTES.completeOne.pattern, worker, single('succeeded'));
  app.post(ROUTES.failOne.pattern, worker, single(null));

  app.post(ROUTES.appendLogs.pattern, worker, async (req, reply) => {
    const body = appendLogsRequestOf(req.body);
    await c.appendLog((req.params as { id: string }).id, body.token, body.chunks);
    reply.code(204);
  });

  app.get(ROUTES.stops.pattern, worker, async (req, reply): Promise<StopsAnswer> => {
    const name = (req.params as { name: string }).name;
    checkWorkerName(req.principal, name);
    const stops = await c.waitForStops({ worker: name, waitMs: waitOf((req.query as { wait?: string }).wait), signal: clientGone(reply) });
    return { stops };
  });
}
