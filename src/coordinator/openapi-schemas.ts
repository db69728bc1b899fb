import { FINAL_STATES, JOB_STATES } from '../core/job.js';
import { TOKEN_ROLES } from '../core/access-token.js';
import { PARAM_TYPES } from '../core/param-types.js';

/**
 * The JSON Schemas (2020-12, as OpenAPI 3.1 has them) of the coordinator API's bodies: the
 * `components.schemas` of openapi.ts, one per type of protocol/messages.ts, core/job.ts and
 * core/reports.ts. Objects list every field they may have: the tests hold the answers to them.
 */

export const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });

const str = { type: 'string' };
const int = { type: 'integer' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const strs = { type: 'array', items: str };
const nullable = (type: string) => ({ type: [type, 'null'] });
const epochMs = (description: string) => ({ type: 'integer', description: `${description} (epoch ms)` });
const obj = (properties: Record<string, object>, required: string[] = Object.keys(properties), more: object = {}) => ({ type: 'object', properties, required, ...more });
const scalar = { type: ['string', 'number', 'boolean'] };
const NAME = '^[A-Za-z0-9_.:@-]{1,128}$';

/** The `code` of every error answer: DroverError's (core/errors.ts) and those http-app.ts and auth.ts send. */
export const ERROR_CODES = ['invalid', 'bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'unsupported_media_type', 'rate_limited', 'too_many_polls', 'unavailable', 'storage_full', 'internal', 'config'] as const;

const stateCounts = obj(Object.fromEntries(JOB_STATES.map((s) => [s, int])), [...JOB_STATES], { description: 'Jobs per state, every state present' });

const workerInfo = obj(
  {
    name: { type: 'string', pattern: NAME },
    host: str,
    kinds: strs,
    templates: { type: 'array', items: ref('TemplateAdvert') },
    slots: int,
    running: int,
    version: str,
    destinations: { ...strs, description: 'Names of its destinations (worker.destinations)' },
    node: { type: 'string', description: 'worker.segments.node: it also runs the jobs for this node' },
    segments: obj({ url: { type: 'string', description: 'http(s)://HOST:PORT, no credentials' }, channels: strs }, ['url']),
    stopped: { type: 'boolean', description: 'It stopped cleanly: offline at once' },
    queues: { ...strs, description: 'The queues it leases from (empty: every queue); recorded by the coordinator from its lease requests' },
  },
  ['name'],
);

export const SCHEMAS = {
  Error: obj({ error: obj({ code: { enum: [...ERROR_CODES], description: 'invalid: a bad field (named by `field`); bad_request: not JSON, or refused by the HTTP layer' }, message: str, field: { type: 'string', description: 'The bad field, with invalid: `jobs[1].params.cameras`' } }, ['code', 'message']) }, ['error'], { description: 'Every error answer' }),
  JobState: { enum: [...JOB_STATES] },
  FinalState: { enum: [...FINAL_STATES] },
  StateCounts: stateCounts,
  Params: { type: 'object', additionalProperties: scalar, description: 'Param name → value; secret ones are "***" (but in a lease)' },
  Progress: { type: 'object', description: 'Live progress; runners add fields of their own', properties: { bytes: num, total: num, speed: { type: 'number', description: 'bytes/s' }, eta: { type: 'number', description: 's' }, percent: num, message: str }, additionalProperties: true },
  Lease: obj({ worker: str, token: { type: 'string', description: 'Fences every report on the job' }, expiresAt: epochMs('Void after this unless renewed') }),
  Job: obj(
    {
      id: str,
      queue: str,
      kind: str,
      template: nullable('string'),
      params: ref('Params'),
      secrets: { ...strs, description: 'Params shown as "***"' },
      owner: nullable('string'),
      tags: strs,
      priority: { type: 'integer', description: 'Higher runs first' },
      state: ref('JobState'),
      runAt: epochMs('Due'),
      attempt: { type: 'integer', description: 'Attempts started so far' },
      maxAttempts: int,
      backoffMs: int,
      backoffMaxMs: int,
      timeLimitMs: nullable('integer'),
      concurrencyKey: nullable('string'),
      concurrencyLimit: nullable('integer'),
      node: nullable('string'),
      parentId: { type: ['string', 'null'], description: 'The job whose attempt made this one' },
      lease: { oneOf: [ref('Lease'), { type: 'null' }] },
      stopReason: { enum: ['canceled', 'timed_out', null] },
      progress: { oneOf: [ref('Progress'), { type: 'null' }] },
      result: { description: 'What the runner returned (any JSON)' },
      error: nullable('string'),
      createdAt: epochMs('Created'),
      updatedAt: epochMs('Last changed'),
      startedAt: nullable('integer'),
      finishedAt: nullable('integer'),
    },
    undefined,
    { description: 'A job; its secret params are "***"' },
  ),
  LeasedJob: obj(
    { id: str, queue: str, kind: str, template: nullable('string'), params: ref('Params'), secrets: strs, owner: nullable('string'), tags: strs, priority: int, attempt: int, maxAttempts: int, timeLimitMs: nullable('integer'), createdAt: int, parentId: { type: 'string', description: 'Set on a child job' }, lease: ref('Lease') },
    ['id', 'queue', 'kind', 'template', 'params', 'secrets', 'owner', 'tags', 'priority', 'attempt', 'maxAttempts', 'timeLimitMs', 'createdAt', 'lease'],
    { description: 'A job as its worker gets it: secrets in clear, none of the bookkeeping' },
  ),
  Attempt: obj({ jobId: str, attempt: int, worker: str, startedAt: int, endedAt: nullable('integer'), outcome: { enum: ['succeeded', 'failed', 'timed_out', 'canceled', 'lost', 'released', null] }, error: nullable('string') }),
  NewJob: obj(
    {
      kind: { type: 'string', description: 'Runner kind; implied by template' },
      template: str,
      params: ref('Params'),
      secrets: { ...strs, description: 'More params to show as "***"' },
      owner: nullable('string'),
      queue: { type: 'string', default: 'default' },
      tags: strs,
      priority: { type: 'integer', default: 0, description: 'Higher runs first' },
      runAt: { type: ['string', 'integer'], description: 'ISO 8601, a duration from now ("10m") or epoch ms; later makes the job waiting' },
      maxAttempts: { type: 'integer', default: 3 },
      backoff: { type: ['string', 'number'], default: '5s', description: 'Base of the exponential backoff: "30s", or seconds' },
      timeLimit: { type: ['string', 'number', 'null'], description: 'Of one attempt: "2h", or seconds' },
      concurrencyKey: nullable('string'),
      concurrencyLimit: nullable('integer'),
      node: { type: ['string', 'null'], description: 'Only the worker of this node runs it (worker.segments.node)' },
      key: { type: 'string', maxLength: 255, description: 'Its idempotency key: a job made under the same key within 24 h is answered in its place, and none is made' },
      unique: { type: 'string', maxLength: 255, description: 'At most one such job at a time: while a job of the same template or kind made under this key ({param} placeholders: "{server}-{day}") has not ended, it is answered in this one\'s place' },
    },
    [],
    { additionalProperties: false, anyOf: [{ required: ['kind'] }, { required: ['template'] }], description: 'A job to make: a kind, a template, or both. Missing fields take the template\'s values, then the defaults' },
  ),
  StorageStatus: obj({ dir: str, freeBytes: int, reserveBytes: int, state: { enum: ['ok', 'low'], description: 'low: under the reserve, new jobs refused (507)' } }, ['dir', 'freeBytes', 'reserveBytes', 'state']),
  WorkerInfo: { ...workerInfo, description: 'A worker as it describes itself' },
  WorkerView: obj({ ...workerInfo.properties, firstSeen: int, lastSeen: int, online: { type: 'boolean', description: 'Heard from within the lease TTL' }, running: { type: 'integer', description: 'Jobs it holds a lease on' } }, ['name', 'host', 'kinds', 'templates', 'slots', 'running', 'version', 'firstSeen', 'lastSeen', 'online']),
  ParamSpec: obj({ type: { enum: [...PARAM_TYPES], default: 'string' }, default: scalar, pattern: str, description: str }, ['type']),
  TemplateInfo: obj(
    {
      name: str,
      kind: str,
      required: { ...strs, description: 'Params without a default' },
      secrets: strs,
      params: { type: 'object', additionalProperties: ref('ParamSpec') },
      concurrency: { oneOf: [obj({ key: str, limit: int }), { type: 'null' }] },
      timeLimitMs: nullable('integer'),
      maxAttempts: nullable('integer'),
      backoffMs: nullable('integer'),
    },
    undefined,
    { description: 'A template the coordinator knows (its own, or advertised by workers)' },
  ),
  TemplateAdvert: { type: 'object', required: ['name', 'kind'], properties: { name: str, kind: str, required: strs, secrets: strs, params: { type: 'object', additionalProperties: { type: 'object', properties: { type: { enum: [...PARAM_TYPES] }, default: scalar, pattern: str, description: str } } }, concurrency: { oneOf: [obj({ key: str, limit: int }), { type: 'null' }] }, timeLimitMs: nullable('integer'), maxAttempts: nullable('integer'), backoffMs: nullable('integer') }, additionalProperties: true, description: "A template of the worker's config; unknown fields are dropped" },
  ScheduleInput: obj(
    { name: { type: 'string', pattern: NAME }, every: { type: ['string', 'number'], description: 'A period: "5m", or seconds (at least 1 s); or cron' }, cron: { type: 'string', description: 'Five or six fields' }, timezone: { type: ['string', 'null'], description: 'IANA name, with cron; default UTC' }, job: { type: 'object', description: 'The job to enqueue, as POST /jobs takes it' }, paused: bool },
    ['name', 'job'],
    { additionalProperties: false },
  ),
  Schedule: obj({ name: str, everyMs: nullable('integer'), cron: nullable('string'), timezone: nullable('string'), job: { type: 'object', description: 'Its job spec; secret params "***"' }, paused: bool, source: { enum: ['config', 'api'] }, nextRunAt: int, lastRunAt: nullable('integer'), lastJobId: nullable('string'), lastSkip: { type: ['string', 'null'], description: 'Why its last firing enqueued nothing' }, createdAt: int, updatedAt: int, lastJobState: { oneOf: [ref('JobState'), { type: 'null' }] } }),
  QueueView: obj({ name: str, paused: bool, pausedAt: nullable('integer'), counts: { type: 'object', properties: stateCounts.properties, description: 'Jobs per state' } }),
  Token: obj({ name: str, role: { enum: [...TOKEN_ROLES] }, id: { type: 'string', description: 'Its non-secret first characters' }, queues: { ...strs, description: 'Worker tokens: the queues it may lease from; empty: all' }, createdAt: int, expiresAt: nullable('integer'), lastUsedAt: nullable('integer') }, undefined, { description: 'An access token as shown: never the token or its hash' }),
  LogChunk: obj({ stream: { type: 'string', description: 'stdout, stderr or drover' }, text: str, ts: epochMs('Read by the worker') }, ['stream', 'text']),
  StoredLogChunk: obj({ seq: int, stream: str, text: str, ts: int }),
  HeartbeatAnswer: {
    oneOf: [obj({ id: str, status: { const: 'ok' }, leaseExpiresAt: int }), obj({ id: str, status: { const: 'stop' }, reason: { enum: ['canceled', 'timed_out'] }, leaseExpiresAt: int }), obj({ id: str, status: { const: 'lost' } })],
  },
  CompleteItem: obj(
    {
      id: str,
      token: { type: 'string', description: 'The lease token' },
      outcome: { enum: ['succeeded', 'failed', 'timed_out', 'canceled'] },
      result: { description: 'Any JSON, at most 8 MiB and 32 deep' },
      error: nullable('string'),
      retryable: { type: 'boolean', default: true },
      release: { type: 'boolean', description: 'Give the job back unfinished: queued again, the attempt not counted' },
      progress: { oneOf: [ref('Progress'), { type: 'null' }] },
      children: { type: 'array', items: ref('NewJob'), description: 'With a success: child jobs to make; the job then waits for them' },
    },
    ['id', 'token', 'outcome'],
  ),
  CompleteAnswer: { oneOf: [obj({ id: str, status: { const: 'ok' }, state: ref('JobState'), late: { const: true, description: 'The lease had expired but the job had not run again: the outcome counted' } }, ['id', 'status', 'state']), obj({ id: str, status: { const: 'stale' } })] },
  StopOrder: obj({ id: str, reason: { enum: ['canceled', 'timed_out'] } }),
  SegmentNode: obj({ node: str, url: str, channels: strs }),
  /** The filter of GET /jobs, as JSON: the `filter` of POST /jobs/bulk. */
  JobFilter: obj(
    {
      state: { type: ['array', 'string'], items: ref('JobState'), description: 'States: a list, or comma-separated' },
      queue: str,
      owner: str,
      tag: str,
      template: str,
      kind: str,
      parent: { type: 'string', description: 'Only the children of this job' },
      worker: { type: 'string', description: 'Only the jobs whose last attempt this worker ran' },
      q: { type: 'string', maxLength: 200, description: 'Text in the id, params or error' },
      finishedSince: { type: ['integer', 'string'], description: 'Epoch ms' },
      since: { type: ['integer', 'string'], description: 'Epoch ms' },
    },
    [],
    { additionalProperties: false },
  ),
  Session: obj({ authRequired: { type: 'boolean', description: 'The coordinator checks tokens' }, signedIn: bool, role: { enum: ['admin', 'read', null] }, csrf: { type: ['string', 'null'], description: 'Send as the X-Drover-CSRF header with each change made with the session cookie' } }),
  JobEvent: obj(
    {
      id: str,
      state: ref('JobState'),
      queue: nullable('string'),
      owner: nullable('string'),
      kind: nullable('string'),
      template: nullable('string'),
      parentId: nullable('string'),
      attempt: nullable('integer'),
      updatedAt: { type: ['integer', 'null'], description: "The job's updatedAt; null when only its new state is known (a worker's outcome)" },
      error: str,
    },
    ['id', 'state', 'queue', 'owner', 'kind', 'template', 'parentId', 'attempt', 'updatedAt'],
    { description: 'A job changed state (never its params); null: not known to this coordinator' },
  ),
  ProgressEvent: obj({ id: str, queue: nullable('string'), progress: ref('Progress') }),
  WorkerEvent: obj({ name: str, event: { enum: ['joined', 'left'] }, slots: int }),
} as const;
