import { JOB_STATES } from '../core/job.js';
import { ROUTES } from '../protocol/routes.js';

/** OpenAPI's `paths`: each route under its pattern in OpenAPI's form (`:id` → `{id}`), methods merged. */
function pathsOf(ops: Array<[{ method: string; pattern: string }, object]>): Record<string, Record<string, object>> {
  const out: Record<string, Record<string, object>> = {};
  for (const [r, op] of ops) (out[r.pattern.replace(/:(\w+)/g, '{$1}')] ??= {})[r.method.toLowerCase()] = op;
  return out;
}

/** The OpenAPI 3.1 description of the coordinator's HTTP API, served at ROUTES.openapi. */
export function openApiDocument(version: string): object {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: object) => ({ content: { 'application/json': { schema } } });
  const ok = (schema: object, description = 'OK') => ({ description, ...json(schema) });
  const errors = {
    '400': ok(ref('Error'), 'Bad input; `error.field` names the field'),
    '401': ok(ref('Error'), 'Missing, wrong, expired or revoked bearer token, or one without the role'),
    '403': ok(ref('Error'), "A worker token acting as another worker, or leasing from a queue it may not"),
    '404': ok(ref('Error'), 'No such job'),
    '409': ok(ref('Error'), 'Conflicts with the job state, or a stale lease token'),
    '413': ok(ref('Error'), 'Body larger than server.max_body'),
    '429': ok(ref('Error'), 'Too many failed authentications from this address; see Retry-After'),
  };
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const q = (name: string, description: string, type = 'string') => ({ name, in: 'query', required: false, description, schema: { type } });
  const filters = [
    q('queue', 'Only this queue'),
    q('owner', 'Only this owner'),
    q('tag', 'Only jobs with this tag'),
    q('template', 'Only this template'),
    q('kind', 'Only this kind'),
    q('finishedSince', 'Only jobs finished at or after this epoch ms', 'integer'),
    q('since', 'Only jobs created or finished at or after this epoch ms', 'integer'),
  ];
  return {
    openapi: '3.1.0',
    info: { title: 'Drover coordinator API', version, description: 'Jobs, leases, heartbeats and logs. Auth: `Authorization: Bearer TOKEN` (admin token for everything, worker token for the worker routes, read token for GET routes and /metrics).' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, required: ['code', 'message'] } } },
        NewJob: {
          type: 'object',
          required: ['kind'],
          properties: {
            kind: { type: 'string', description: 'Runner kind; implied by template' },
            template: { type: 'string' },
            params: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
            secrets: { type: 'array', items: { type: 'string' }, description: 'Extra params to redact' },
            owner: { type: 'string' },
            queue: { type: 'string', default: 'default' },
            tags: { type: 'array', items: { type: 'string' } },
            priority: { type: 'integer', default: 0, description: 'Higher runs first' },
            runAt: { type: ['string', 'integer'], description: 'ISO 8601 or epoch ms; later makes the job waiting' },
            maxAttempts: { type: 'integer', default: 3 },
            backoff: { type: ['string', 'number'], default: '5s' },
            timeLimit: { type: ['string', 'number'], description: 'e.g. "2h" or seconds' },
            concurrencyKey: { type: 'string' },
            concurrencyLimit: { type: 'integer' },
            node: { type: 'string', description: 'only the worker of this node runs it (worker.segments.node)' },
          },
        },
        Job: { type: 'object', description: 'A job; secret params are "***"', properties: { id: { type: 'string' }, state: { enum: [...JOB_STATES] }, parentId: { type: ['string', 'null'] }, progress: { type: 'object' }, result: {}, error: { type: ['string', 'null'] } } },
        Token: { type: 'object', description: 'An access token as shown: never the token or its hash', properties: { name: { type: 'string' }, role: { enum: ['admin', 'worker', 'read'] }, id: { type: 'string', description: 'Its non-secret first characters' }, queues: { type: 'array', items: { type: 'string' } }, createdAt: { type: 'integer' }, expiresAt: { type: ['integer', 'null'] }, lastUsedAt: { type: ['integer', 'null'] } } },
        WorkerInfo: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, host: { type: 'string' }, kinds: { type: 'array', items: { type: 'string' } }, templates: { type: 'array', items: { type: 'object' } }, slots: { type: 'integer' }, running: { type: 'integer' }, node: { type: 'string' }, segments: { type: 'object', properties: { url: { type: 'string' }, channels: { type: 'array', items: { type: 'string' } } } } } },
      },
    },
    security: [{ bearer: [] }],
    paths: pathsOf([
      [ROUTES.health, { summary: 'Liveness', security: [], responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.metrics, { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format' } } }],
      [ROUTES.enqueue, { summary: 'Create one job, or many atomically ({"jobs": [...]}); ?dryRun=true checks only, ?return=ids answers the ids', requestBody: json({ oneOf: [ref('NewJob'), { type: 'object', properties: { jobs: { type: 'array', items: ref('NewJob') } } }] }), responses: { '201': ok({ type: 'object', properties: { jobs: { type: 'array', items: ref('Job') } } }), ...errors } }],
      [ROUTES.list, { summary: 'List jobs, oldest first (newest first with order=desc), with cursor pagination', parameters: [q('state', 'Comma-separated states'), ...filters, q('order', 'asc (default) or desc'), q('cursor', 'nextCursor of the previous page'), q('limit', '1..1000, default 100', 'integer')], responses: { '200': ok({ type: 'object', properties: { jobs: { type: 'array', items: ref('Job') }, nextCursor: { type: ['string', 'null'] } } }), ...errors } }],
      [ROUTES.counts, { summary: 'Jobs per state', parameters: filters, responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.stats, { summary: 'Jobs per state, per queue and finished in the last hour; workers online, slots, running', responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.purge, { summary: 'Delete finished jobs (states: final states, default all) that finished before `before` (epoch ms), with their logs', requestBody: json({ type: 'object', required: ['before'], properties: { before: { type: 'integer' }, states: { type: 'array', items: { type: 'string' } } } }), responses: { '200': ok({ type: 'object', properties: { deleted: { type: 'integer' } } }), ...errors } }],
      [ROUTES.job, { summary: 'One job with its attempts', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.waitJob, { summary: 'The job once it changed after `since` (its updatedAt) or is final; long-polls with wait (ms)', parameters: [idParam, q('since', 'updatedAt last seen, epoch ms', 'integer'), q('wait', 'Long-poll ms', 'integer')], responses: { '200': ok({ type: 'object', properties: { job: ref('Job') } }), ...errors } }],
      [ROUTES.cancel, { summary: 'Cancel a waiting, queued or running job', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.retry, { summary: 'Requeue a failed, timed-out or canceled job', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.readLogs, { summary: 'Log chunks after a sequence number; long-polls with wait (ms)', parameters: [idParam, q('after', 'Last seq seen', 'integer'), q('limit', 'Max chunks', 'integer'), q('wait', 'Long-poll ms', 'integer')], responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.appendLogs, { summary: 'Worker: append log chunks', parameters: [idParam], responses: { '204': { description: 'Stored' }, ...errors } }],
      [ROUTES.completeOne, { summary: 'Worker: report success, fenced by the lease token', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.failOne, { summary: 'Worker: report failed/timed_out/canceled, fenced by the lease token', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.lease, { summary: 'Worker: claim up to limit jobs, long-polling up to wait ms; the worker\'s templates travel here', requestBody: json({ type: 'object', properties: { worker: ref('WorkerInfo'), limit: { type: 'integer' }, wait: { type: 'integer' }, queues: { type: 'array', items: { type: 'string' } } } }), responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.heartbeat, { summary: 'Worker: renew leases, report progress ({worker: {name, running}, jobs}); answers ok, stop or lost per job', responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.complete, { summary: 'Worker: report many outcomes; answers ok or stale per job', responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.workers, { summary: 'Workers online, and those gone less than the worker retention (1 h); ?all=true: every one', parameters: [q('all', 'true: also workers gone longer')], responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.pruneWorkers, { summary: 'Forget the workers gone longer than the worker retention', responses: { '200': ok({ type: 'object', properties: { deleted: { type: 'integer' } } }) } }],
      [ROUTES.schedules, { summary: 'Every schedule: definition, next and last run, the last job and its state', responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.putSchedule, { summary: 'Create or replace a schedule: {name, every | cron (+ timezone), job, paused}', requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'job'] } } } }, responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.deleteSchedule, { summary: 'Remove a schedule (not one from drover.yaml)', responses: { '204': { description: 'removed' } } }],
      [ROUTES.pauseSchedule, { summary: 'Pause a schedule', responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.resumeSchedule, { summary: 'Resume a schedule: next due at its first time after now', responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.segmentNodes, { summary: 'The online workers with a segment server (node, url, channels); the worker token may ask', responses: { '200': ok({ type: 'object', properties: { nodes: { type: 'array', items: { type: 'object', properties: { node: { type: 'string' }, url: { type: 'string' }, channels: { type: 'array', items: { type: 'string' } } } } } } }) } }],
      [ROUTES.stops, { summary: 'Worker: jobs it must stop; long-polls with wait (ms)', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }, q('wait', 'Long-poll ms', 'integer')], responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.templates, { summary: 'Templates known to the coordinator', responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.kinds, { summary: 'Job kinds known to the coordinator', responses: { '200': ok({ type: 'object' }) } }],
      [ROUTES.tokens, { summary: 'Admin: the access tokens (names, roles, queues, expiry, last use; never the tokens)', responses: { '200': ok({ type: 'object', properties: { tokens: { type: 'array', items: ref('Token') } } }), ...errors } }],
      [ROUTES.createToken, { summary: 'Admin: make an access token; `secret` is in this answer only', requestBody: json({ type: 'object', required: ['name', 'role'], properties: { name: { type: 'string' }, role: { enum: ['admin', 'worker', 'read'] }, queues: { type: 'array', items: { type: 'string' }, description: 'Worker tokens: the queues it may lease from; default all' }, expires: { type: ['string', 'number', 'null'], description: 'From now: e.g. "90d", or seconds; default never' } } }), responses: { '201': ok({ type: 'object', properties: { token: ref('Token'), secret: { type: 'string' } } }), ...errors } }],
      [ROUTES.revokeToken, { summary: "Admin: revoke a token; a worker token's running jobs go back to the queue", parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': ok({ type: 'object', properties: { token: ref('Token'), released: { type: 'integer' } } }), ...errors } }],
      [ROUTES.checkToken, { summary: "Worker: whether a token is a worker's or an admin's now (a worker's segment server asks about a fellow worker's)", responses: { '200': ok({ type: 'object', properties: { valid: { type: 'boolean' } } }), ...errors } }],
      [ROUTES.queues, { summary: 'Every queue with jobs or paused: its jobs per state, whether it is paused', responses: { '200': ok({ type: 'object', properties: { queues: { type: 'array', items: { type: 'object' } } } }), ...errors } }],
      [ROUTES.pauseQueue, { summary: 'Admin: pause a queue (it leases nothing; running jobs go on)', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': ok({ type: 'object' }), ...errors } }],
      [ROUTES.resumeQueue, { summary: 'Admin: resume a paused queue', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': ok({ type: 'object' }), ...errors } }],
    ]),
  };
}
