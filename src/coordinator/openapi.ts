/** The OpenAPI 3.1 description of the coordinator's HTTP API, served at /api/v1/openapi.json. */
export function openApiDocument(version: string): object {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: object) => ({ content: { 'application/json': { schema } } });
  const ok = (schema: object, description = 'OK') => ({ description, ...json(schema) });
  const errors = {
    '400': ok(ref('Error'), 'Bad input; `error.field` names the field'),
    '401': ok(ref('Error'), 'Missing or wrong bearer token'),
    '404': ok(ref('Error'), 'No such job'),
    '409': ok(ref('Error'), 'Conflicts with the job state, or a stale lease token'),
    '413': ok(ref('Error'), 'Body larger than server.max_body'),
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
  ];
  return {
    openapi: '3.1.0',
    info: { title: 'Drover coordinator API', version, description: 'Jobs, leases, heartbeats and logs. Auth: `Authorization: Bearer TOKEN` (admin token for everything, worker token for the worker routes).' },
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
          },
        },
        Job: { type: 'object', description: 'A job; secret params are "***"', properties: { id: { type: 'string' }, state: { enum: ['waiting', 'queued', 'running', 'succeeded', 'failed', 'timed_out', 'canceled'] }, progress: { type: 'object' }, result: {}, error: { type: ['string', 'null'] } } },
        WorkerInfo: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, host: { type: 'string' }, kinds: { type: 'array', items: { type: 'string' } }, templates: { type: 'array', items: { type: 'object' } }, slots: { type: 'integer' }, running: { type: 'integer' } } },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': ok({ type: 'object' }) } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format' } } } },
      '/api/v1/jobs': {
        post: { summary: 'Create one job, or many atomically ({"jobs": [...]})', requestBody: json({ oneOf: [ref('NewJob'), { type: 'object', properties: { jobs: { type: 'array', items: ref('NewJob') } } }] }), responses: { '201': ok({ type: 'object', properties: { jobs: { type: 'array', items: ref('Job') } } }), ...errors } },
        get: { summary: 'List jobs, oldest first, with cursor pagination', parameters: [q('state', 'Comma-separated states'), ...filters, q('cursor', 'nextCursor of the previous page'), q('limit', '1..1000, default 100', 'integer')], responses: { '200': ok({ type: 'object', properties: { jobs: { type: 'array', items: ref('Job') }, nextCursor: { type: ['string', 'null'] } } }), ...errors } },
      },
      '/api/v1/jobs/counts': { get: { summary: 'Jobs per state', parameters: filters, responses: { '200': ok({ type: 'object' }) } } },
      '/api/v1/jobs/{id}': { get: { summary: 'One job with its attempts', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/jobs/{id}/cancel': { post: { summary: 'Cancel a waiting, queued or running job', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/jobs/{id}/retry': { post: { summary: 'Requeue a failed, timed-out or canceled job', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/jobs/{id}/logs': {
        get: { summary: 'Log chunks after a sequence number; long-polls with wait (ms)', parameters: [idParam, q('after', 'Last seq seen', 'integer'), q('limit', 'Max chunks', 'integer'), q('wait', 'Long-poll ms', 'integer')], responses: { '200': ok({ type: 'object' }), ...errors } },
        post: { summary: 'Worker: append log chunks', parameters: [idParam], responses: { '204': { description: 'Stored' }, ...errors } },
      },
      '/api/v1/jobs/{id}/complete': { post: { summary: 'Worker: report success, fenced by the lease token', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/jobs/{id}/fail': { post: { summary: 'Worker: report failed/timed_out/canceled, fenced by the lease token', parameters: [idParam], responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/lease': { post: { summary: 'Worker: claim up to limit jobs, long-polling up to wait ms', requestBody: json({ type: 'object', properties: { worker: ref('WorkerInfo'), limit: { type: 'integer' }, wait: { type: 'integer' }, queues: { type: 'array', items: { type: 'string' } } } }), responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/heartbeat': { post: { summary: 'Worker: renew leases, report progress; answers ok, stop or lost per job', responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/complete': { post: { summary: 'Worker: report many outcomes; answers ok or stale per job', responses: { '200': ok({ type: 'object' }), ...errors } } },
      '/api/v1/workers': { get: { summary: 'Worker registry', responses: { '200': ok({ type: 'object' }) } } },
      '/api/v1/workers/{name}/stops': { get: { summary: 'Worker: jobs it must stop; long-polls with wait (ms)', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }, q('wait', 'Long-poll ms', 'integer')], responses: { '200': ok({ type: 'object' }) } } },
      '/api/v1/templates': { get: { summary: 'Templates known to the coordinator', responses: { '200': ok({ type: 'object' }) } } },
      '/api/v1/kinds': { get: { summary: 'Job kinds known to the coordinator', responses: { '200': ok({ type: 'object' }) } } },
    },
  };
}
