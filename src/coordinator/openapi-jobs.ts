import { LIST_DEFAULTS, LIST_SORTS } from '../core/job-filter.js';
import { LOGS_DEFAULTS } from '../protocol/defaults.js';
import { ADMIN, idPath, ignored, int, list, nonNeg, obj, READ, str, tooManyPolls, wait, type Operations } from './openapi-kit.js';
import { ref } from './openapi-schemas.js';

/** The clients' routes: jobs (make, find, watch, cancel, retry, import), their logs, schedules, stats. */

const job = { description: 'The job', schema: obj({ job: ref('Job') }) };
const TEXT_FILTERS = {
  queue: { type: 'string', description: 'Only this queue' },
  owner: { type: 'string', description: 'Only this owner' },
  tag: { type: 'string', description: 'Only jobs with this tag' },
  template: { type: 'string', description: 'Only this template' },
  kind: { type: 'string', description: 'Only this kind' },
  parent: { type: 'string', description: 'Only the children of this job' },
  worker: { type: 'string', description: 'Only the jobs whose last attempt this worker ran (state=running: those it holds)' },
  q: { type: 'string', maxLength: 200, description: 'Text search in the id, params and error' },
};
const FILTERS = { ...TEXT_FILTERS, finishedSince: nonNeg('Only jobs finished at or after this, epoch ms'), since: nonNeg('Only jobs created or finished at or after this, epoch ms') };
const schedule = { description: 'The schedule as it is now', schema: obj({ schedule: ref('Schedule') }) };
const fromConfig = 'A schedule from drover.yaml (change it there), or a bad field';
const importAnswer = obj({
  rows: { type: 'integer', description: 'Data rows read' },
  errors: { ...list(obj({ row: { type: ['integer', 'null'], description: 'As a person counts them: the header is row 1' }, column: { type: ['string', 'null'] }, message: str })), description: 'Every problem found; none: the rows are fine' },
  jobs: { ...list(str), description: 'The ids made; empty on a dry run or when a row has an error' },
  tag: { type: 'string', description: 'The tag the jobs get: import:NAME' },
});

export const JOB_OPERATIONS = {
  enqueue: {
    tag: 'jobs',
    summary: 'Make one job, or many at once ({"jobs": [...]}, all or none)',
    description: 'A bad field is a 400 naming it (`jobs[1].params.cameras`) and makes no job. `warnings` says what no online worker can run yet; the jobs are made all the same.',
    tokens: ADMIN,
    query: { dryRun: { enum: ['true'], description: 'true: check only, make nothing (200 with `valid`)' }, return: { enum: ['ids'], description: 'ids: answer with the new ids only' } },
    requestHeaders: { 'Idempotency-Key': 'Up to 255 visible ASCII characters: the same key within 24 h answers the jobs the first request made and makes none (DroverClient and the CLI send a new one with each enqueue, the same on each retry)' },
    body: { oneOf: [obj({ jobs: { type: 'array', items: ref('NewJob'), minItems: 1, maxItems: 50_000 } }, ['jobs'], { additionalProperties: false }), ref('NewJob')] },
    ok: {
      201: { description: 'Made: the jobs, or their ids with ?return=ids (a job under a `key` seen within 24 h: the one made then)', schema: { oneOf: [obj({ jobs: list(ref('Job')), warnings: list(str) }, ['jobs']), obj({ ids: list(str), warnings: list(str) }, ['ids'])] }, headers: { 'Idempotent-Replayed': 'true: the Idempotency-Key was seen before; these are the jobs it made then, as they are now', 'Server-Timing': 'check;dur=MS (the jobs checked and their secrets sealed), store;dur=MS (the store creating them)' } },
      200: { description: '?dryRun=true: how many jobs are valid', schema: obj({ valid: int }) },
    },
    errors: { 400: 'A bad job, naming the field', 409: 'The Idempotency-Key was used within 24 h for another body' },
  },
  list: {
    tag: 'jobs',
    summary: 'A page of jobs, by id oldest first (order=desc: newest first; sort=finished: finished jobs by finish time); pass nextCursor as cursor for the next',
    tokens: READ,
    query: {
      state: { type: 'array', items: ref('JobState'), description: 'Comma-separated states' },
      ...FILTERS,
      sort: { enum: [...LIST_SORTS], default: 'created', description: 'created: by id (creation order); finished: by finish time, then id, finished jobs only' },
      order: { enum: ['asc', 'desc'], default: 'asc' },
      cursor: { type: 'string', description: 'nextCursor of the previous page (an id; FINISHED_AT:ID when sort=finished)' },
      limit: { type: 'integer', minimum: 1, maximum: LIST_DEFAULTS.maxLimit, default: LIST_DEFAULTS.limit },
    },
    ok: { 200: { description: 'The page; `waiting` says, by id, why a queued job no online worker can run waits', schema: obj({ jobs: list(ref('Job')), nextCursor: { type: ['string', 'null'] }, waiting: { type: 'object', additionalProperties: str } }, ['jobs', 'nextCursor']) } },
    errors: { 400: 'A bad query value, naming it' },
  },
  counts: { tag: 'jobs', summary: 'Jobs per state', tokens: READ, query: FILTERS, ok: { 200: { description: 'Every state, 0 when none', schema: obj({ counts: ref('StateCounts') }) } }, errors: { 400: 'A bad query value, naming it' } },
  job: {
    tag: 'jobs',
    summary: 'One job with its attempts, oldest first',
    tokens: READ,
    path: idPath,
    ok: { 200: { description: 'The job; `waiting`: why it waits, when no online worker can run it', schema: obj({ job: ref('Job'), attempts: list(ref('Attempt')), waiting: str }, ['job', 'attempts']) } },
    errors: { 404: 'No such job' },
  },
  waitJob: {
    tag: 'jobs',
    summary: 'The job once it changed after `since` (its updatedAt) or is final; at the latest after `wait`',
    tokens: READ,
    path: idPath,
    query: { since: nonNeg('updatedAt last seen, epoch ms', { default: 0 }), wait },
    ok: { 200: job },
    errors: { 400: 'A bad query value, naming it', 404: 'No such job', 429: tooManyPolls },
  },
  cancel: { tag: 'jobs', summary: 'Cancel a waiting, queued or running job (a running one: its worker is told to stop)', tokens: ADMIN, path: idPath, body: ignored, bodyOptional: true, ok: { 200: job }, errors: { 404: 'No such job', 409: 'The job is already final' } },
  retry: { tag: 'jobs', summary: 'Queue a failed, timed-out or canceled job again', tokens: ADMIN, path: idPath, body: ignored, bodyOptional: true, ok: { 200: job }, errors: { 404: 'No such job', 409: 'The job is not failed, timed_out or canceled' } },
  readLogs: {
    tag: 'jobs',
    summary: 'Log chunks after a sequence number; long-polls with `wait` while the job is active',
    tokens: READ,
    path: idPath,
    query: { after: nonNeg('The last seq seen', { default: 0 }), limit: nonNeg('Chunks at most', { default: LOGS_DEFAULTS.limit, maximum: LOGS_DEFAULTS.maxLimit }), wait },
    ok: { 200: { description: '`next` is the `after` of the next call', schema: obj({ chunks: list(ref('StoredLogChunk')), next: int, state: ref('JobState') }) } },
    errors: { 400: 'A bad query value, naming it', 404: 'No such job', 429: tooManyPolls },
  },
  events: {
    tag: 'jobs',
    summary: 'Server-Sent Events: jobs that change, their progress, workers that join or leave',
    description: 'Each event has an `id:`, an `event:` (job, progress or worker) and a `data:` line of JSON: a JobEvent, ProgressEvent or WorkerEvent. Comment lines keep an idle stream open. Events of this coordinator only, and none kept for a client that was not listening: on reconnecting, read the state first.',
    tokens: READ,
    query: { types: { type: 'array', items: { enum: ['job', 'progress', 'worker'] }, description: 'Comma-separated event types; default all' }, job: { type: 'string', description: 'Only the events of this job' }, queue: { type: 'string', description: 'Only the events of this queue' } },
    ok: {
      200: {
        description: 'The stream, open until the client goes',
        media: 'text/event-stream',
        schema: { type: 'string', description: 'id: N, event: job|progress|worker, data: JSON' },
        extra: { 'x-events': { job: ref('JobEvent'), progress: ref('ProgressEvent'), worker: ref('WorkerEvent') } },
      },
    },
    errors: { 400: 'A bad query value, naming it' },
  },
  templates: { tag: 'jobs', summary: 'The templates the coordinator knows: its own and those workers advertise', tokens: READ, noStore: true, ok: { 200: { description: 'The templates', schema: obj({ templates: list(ref('TemplateInfo')) }) } } },
  kinds: {
    tag: 'jobs',
    summary: 'The job kinds known: built in and advertised by workers',
    tokens: READ,
    noStore: true,
    ok: { 200: { description: '`params`: per built-in kind, the params a job of it may have without a template', schema: obj({ kinds: list(str), params: { type: 'object', additionalProperties: list(str) } }) } },
  },
  stats: {
    tag: 'jobs',
    summary: 'Jobs per state, per queue and finished in the last hour; the workers',
    tokens: READ,
    ok: { 200: { description: 'The numbers', schema: obj({ counts: ref('StateCounts'), queues: { type: 'object', additionalProperties: ref('StateCounts') }, owners: { type: 'object', additionalProperties: ref('StateCounts'), description: 'The 50 owners with the most jobs; jobs without one under ""' }, lastHour: ref('StateCounts'), workers: obj({ online: int, offline: int, slots: int, running: int }) }) } },
  },
  finished: {
    tag: 'jobs',
    summary: 'Jobs finished per time bucket, per final state',
    tokens: READ,
    query: { window: { enum: ['hour', 'day'], default: 'hour', description: 'The last hour or the last day' } },
    ok: { 200: { description: '`buckets` from `since` on, each `bucketMs` long', schema: obj({ bucketMs: int, since: int, buckets: list(obj({ at: int, succeeded: int, failed: int, canceled: int, timed_out: int })) }) } },
    errors: { 400: 'A bad window' },
  },
  purge: {
    tag: 'jobs',
    summary: 'Delete finished jobs (of `states`, default every final state) that finished before `before`, with their logs',
    tokens: ADMIN,
    body: obj({ before: nonNeg('Epoch ms'), states: list(ref('FinalState')) }, ['before'], { additionalProperties: false }),
    ok: { 200: { description: 'Jobs deleted', schema: obj({ deleted: int }) } },
    errors: { 400: 'A bad field, naming it' },
  },
  bulk: {
    tag: 'jobs',
    summary: 'Cancel or retry many jobs: those of `ids`, or every job `filter` finds',
    tokens: ADMIN,
    body: obj({ action: { enum: ['cancel', 'retry'] }, ids: { ...list(str), minItems: 1, maxItems: 10_000 }, filter: ref('JobFilter') }, ['action'], { additionalProperties: false, oneOf: [{ required: ['ids'] }, { required: ['filter'] }] }),
    ok: { 200: { description: 'Jobs found, changed, and those that could not be (already final, not retryable…)', schema: obj({ matched: int, changed: int, failed: list(obj({ id: str, error: str })) }) } },
    errors: { 400: 'A bad field, naming it' },
  },
  importJobs: {
    tag: 'jobs',
    summary: 'Make a job per row of a table file (CSV, XLSX or JSON Lines); ?dryRun=true checks only',
    description: 'Every row is checked first: when one has an error, no job is made.',
    tokens: ADMIN,
    query: { dryRun: { enum: ['true', 'false'], default: 'false', description: 'true: check the rows, make nothing' } },
    body: obj(
      {
        format: { enum: ['csv', 'xlsx', 'jsonl'] },
        data: { type: 'string', contentEncoding: 'base64', description: 'The file, base64' },
        name: { type: 'string', description: 'The file name: in errors and the import:NAME tag; default upload' },
        template: { type: 'string', description: 'Of every job; or kind' },
        kind: { type: 'string', description: 'Of every job; or template' },
        defaults: obj({ queue: str, owner: str, priority: int, maxAttempts: int, tags: list(str), params: { type: 'object', additionalProperties: str } }, [], { additionalProperties: false, description: 'For every job; a row\'s own params go over these' }),
      },
      ['format', 'data'],
      { additionalProperties: false, oneOf: [{ required: ['template'] }, { required: ['kind'] }] },
    ),
    ok: {
      200: { description: 'A dry run: the rows are fine, nothing made', schema: importAnswer },
      201: { description: 'The jobs made', schema: importAnswer },
      422: { description: 'A row has a problem (each is listed): nothing made', schema: importAnswer },
    },
    errors: { 400: 'A bad field, naming it' },
  },
  schedules: { tag: 'jobs', summary: 'Every schedule: definition, next and last run, its last job and its state', tokens: READ, ok: { 200: { description: 'The schedules', schema: obj({ schedules: list(ref('Schedule')) }) } } },
  putSchedule: { tag: 'jobs', summary: 'Make or replace a schedule: {name, every | cron (+ timezone), job, paused}', tokens: ADMIN, body: ref('ScheduleInput'), ok: { 200: schedule }, errors: { 400: `${fromConfig}; or its job is refused (job.FIELD)` } },
  deleteSchedule: { tag: 'jobs', summary: 'Remove a schedule (not one from drover.yaml)', tokens: ADMIN, path: { name: 'The schedule' }, ok: { 204: { description: 'Removed' } }, errors: { 400: fromConfig, 404: 'No such schedule' } },
  pauseSchedule: { tag: 'jobs', summary: 'Pause a schedule', tokens: ADMIN, path: { name: 'The schedule' }, body: ignored, bodyOptional: true, ok: { 200: schedule }, errors: { 400: fromConfig, 404: 'No such schedule' } },
  resumeSchedule: { tag: 'jobs', summary: 'Resume a schedule: next due at its first time after now', tokens: ADMIN, path: { name: 'The schedule' }, body: ignored, bodyOptional: true, ok: { 200: schedule }, errors: { 400: fromConfig, 404: 'No such schedule' } },
} satisfies Operations;
