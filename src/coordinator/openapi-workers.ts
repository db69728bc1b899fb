import { ADMIN, idPath, ignored, int, list, obj, READ, str, tooManyWorkerPolls, wait, WORKER, type Operations } from './openapi-kit.js';
import { ref } from './openapi-schemas.js';

/** The worker protocol (lease, heartbeat, outcomes, logs, stops, peers), and the worker list. */

/** What `POST /lease` takes, and `next` of `POST /complete`. */
const LEASE_REQUEST = obj({ worker: ref('WorkerInfo'), queues: { ...list(str), description: 'Empty: all (a worker token: its own)' }, limit: { type: 'integer', minimum: 0, maximum: 10_000, default: 1 }, wait: { type: 'number', minimum: 0, description: 'Long poll, ms' } }, ['worker']);
/** Where a lease's time went, when it leased jobs. */
const LEASE_TIMING = { 'Server-Timing': 'wait;dur=MS (for work to come), wake;dur=MS (from the notification of new work to the request running again), claim;dur=MS (the store\'s claim), answer;dur=MS (the token checked again, the answer built): sent when jobs were leased' };
const LEASE_ANSWER = obj({ jobs: list(ref('LeasedJob')), leaseTtlMs: int, heartbeatIntervalMs: int });

export const WORKER_OPERATIONS = {
  lease: {
    tag: 'workers',
    summary: 'Claim up to `limit` jobs, long-polling up to `wait` ms; the worker describes itself (its templates travel here)',
    tokens: WORKER,
    body: LEASE_REQUEST,
    ok: { 200: { description: 'The jobs leased (none after `wait`), and the timing to keep', schema: LEASE_ANSWER, headers: LEASE_TIMING } },
    errors: { 400: 'A bad field, naming it', 403: "A worker token leasing as another worker, or from a queue it may not", 429: tooManyWorkerPolls },
  },
  heartbeat: {
    tag: 'workers',
    summary: 'Renew leases and report progress; answers ok, stop or lost per job',
    tokens: WORKER,
    body: obj({ worker: obj({ name: str, running: int, info: ref('WorkerInfo') }, ['name']), jobs: list(obj({ id: str, token: str, progress: { oneOf: [ref('Progress'), { type: 'null' }] } }, ['id', 'token'])) }, ['worker']),
    ok: { 200: { description: 'Per job', schema: obj({ answers: list(ref('HeartbeatAnswer')), leaseTtlMs: int }) } },
    errors: { 400: 'A bad field, naming it', 403: 'A worker token acting as another worker' },
  },
  complete: {
    tag: 'workers',
    summary: 'Report many outcomes, each fenced by its lease token; answers ok or stale per job. With `next`, then leases as `POST /lease` would: report and take the next job in one request',
    tokens: WORKER,
    body: obj({ items: list(ref('CompleteItem')), next: { ...LEASE_REQUEST, description: 'A lease to take once the outcomes are in (as the body of POST /lease)' } }, ['items']),
    ok: { 200: { description: 'Per item; `next`: the lease answer, when asked', schema: obj({ answers: list(ref('CompleteAnswer')), next: LEASE_ANSWER }, ['answers']), headers: LEASE_TIMING } },
    errors: { 400: 'A bad field, naming it', 403: "`next` as another worker, or from a queue a worker token may not", 429: tooManyWorkerPolls },
  },
  completeOne: {
    tag: 'workers',
    summary: 'Report success, fenced by the lease token',
    tokens: WORKER,
    path: idPath,
    body: obj({ token: str, result: {}, progress: { oneOf: [ref('Progress'), { type: 'null' }] }, children: list(ref('NewJob')) }, ['token']),
    ok: { 200: { description: 'The state the job is in now', schema: obj({ state: ref('JobState') }) } },
    errors: { 400: 'A bad field, naming it', 409: 'The lease token is stale (or no such job)' },
  },
  failOne: {
    tag: 'workers',
    summary: 'Report failed, timed_out or canceled, fenced by the lease token',
    tokens: WORKER,
    path: idPath,
    body: obj({ token: str, outcome: { enum: ['failed', 'timed_out', 'canceled'] }, error: { type: ['string', 'null'] }, retryable: { type: 'boolean', default: true }, release: { type: 'boolean' }, result: {}, progress: { oneOf: [ref('Progress'), { type: 'null' }] } }, ['token', 'outcome']),
    ok: { 200: { description: 'The state the job is in now (queued or waiting: it is retried)', schema: obj({ state: ref('JobState') }) } },
    errors: { 400: 'A bad field, naming it', 409: 'The lease token is stale (or no such job)' },
  },
  appendLogs: { tag: 'workers', summary: 'Add to the log of a running job, by the worker holding it', tokens: WORKER, path: idPath, body: obj({ token: { type: 'string', description: 'The lease token' }, chunks: list(ref('LogChunk')) }), ok: { 204: { description: 'Stored' } }, errors: { 400: 'A bad field, naming it', 404: 'No such job', 409: 'The lease token is stale' } },
  stops: {
    tag: 'workers',
    summary: 'The jobs a worker must stop; long-polls with `wait`',
    tokens: WORKER,
    path: { name: 'The worker' },
    query: { wait },
    ok: { 200: { description: 'The stops (none after `wait`)', schema: obj({ stops: list(ref('StopOrder')) }) } },
    errors: { 403: 'A worker token asking for another worker', 429: tooManyWorkerPolls },
  },
  segmentNodes: { tag: 'workers', summary: 'The online workers with a segment server: node, url, channels', tokens: WORKER, ok: { 200: { description: 'The nodes', schema: obj({ nodes: list(ref('SegmentNode')) }) } } },
  checkToken: {
    tag: 'workers',
    summary: "Whether a token is a worker's or an admin's now (a worker's segment server asks about a fellow worker's)",
    tokens: WORKER,
    body: obj({ token: { type: 'string', minLength: 1, maxLength: 512 } }),
    ok: { 200: { description: 'Whether it is', schema: obj({ valid: { type: 'boolean' } }) } },
    errors: { 400: 'No token' },
  },
  workers: {
    tag: 'workers',
    summary: 'Workers online, and those gone less than the worker retention (1 h)',
    tokens: READ,
    query: { all: { enum: ['true', 'false'], default: 'false', description: 'true: also the workers gone longer' } },
    ok: { 200: { description: 'The workers', schema: obj({ workers: list(ref('WorkerView')) }) } },
  },
  pruneWorkers: { tag: 'workers', summary: 'Forget the workers gone longer than the worker retention', tokens: ADMIN, body: ignored, bodyOptional: true, ok: { 200: { description: 'Workers forgotten', schema: obj({ deleted: int }) } } },
} satisfies Operations;
