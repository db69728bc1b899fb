import { ValidationError } from '../core/errors.js';
import { FINAL_STATES, type JobState, type Outcome } from '../core/job.js';
import type { CompleteItem, HeartbeatItem, LogChunk, WorkerInfo } from '../core/reports.js';
import type { AppendLogsRequest, CompleteRequest, HeartbeatRequest, LeaseRequest, PurgeRequest, WorkerPulse } from './messages.js';
import { waitOf } from './query.js';
import { checkJsonBounds, PROGRESS_BOUNDS, RESULT_BOUNDS } from './json-bounds.js';
import { templateAdvertOf } from './template-advert.js';

/**
 * Checks of request bodies, for the coordinator's routes. Each throws a ValidationError whose
 * message starts with the path of the bad field (`items[2].outcome: ...`).
 */
const OUTCOMES: readonly Outcome[] = ['succeeded', 'failed', 'timed_out', 'canceled'];
const WORKER_NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** `POST /jobs`: one job, or `{"jobs": [...]}`. The jobs themselves are checked by the coordinator. */
export function enqueueBodyOf(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body: expected a job object or {"jobs": [...]}', 'body');
  const jobs = (body as { jobs?: unknown }).jobs;
  return Array.isArray(jobs) ? jobs : [body];
}

export function leaseRequestOf(body: unknown): LeaseRequest {
  const b = obj(body, 'body');
  const limit = b.limit === undefined ? 1 : b.limit;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0 || limit > 10_000) throw new ValidationError('limit: an integer from 0 to 10000', 'limit');
  return { worker: workerInfoOf(b.worker), queues: stringArray(b.queues ?? [], 'queues'), limit, wait: waitOf(b.wait) };
}

export function heartbeatRequestOf(body: unknown): HeartbeatRequest {
  const b = obj(body, 'body');
  const jobs = arr(b.jobs ?? [], 'jobs').map((x, i): HeartbeatItem => {
    const it = obj(x, `jobs[${i}]`);
    if (it.progress !== undefined) checkJsonBounds(it.progress, `jobs[${i}].progress`, PROGRESS_BOUNDS);
    return { id: str(it.id, `jobs[${i}].id`), token: str(it.token, `jobs[${i}].token`), progress: (it.progress as HeartbeatItem['progress']) ?? null };
  });
  return { worker: workerPulseOf(b.worker), jobs };
}

export function completeRequestOf(body: unknown): CompleteRequest {
  const b = obj(body, 'body');
  const items = arr(b.items, 'items').map((x, i) => completeItemOf(x, `items[${i}]`));
  if (b.next === undefined) return { items };
  try {
    return { items, next: leaseRequestOf(b.next) };
  } catch (err) {
    // The lease part's fields are named as they sit in this body: next.limit, next.worker.name.
    if (err instanceof ValidationError) throw new ValidationError(`next.${err.message.replace(/^body: /, '')}`, err.field === undefined ? 'next' : `next.${err.field}`);
    throw err;
  }
}

/** `POST /jobs/{id}/complete` or `/fail`: one outcome; `outcome` is implied by /complete. */
export function singleCompleteOf(id: string, body: unknown, outcome: Outcome | null): CompleteItem {
  return completeItemOf({ ...obj(body, 'body'), id, ...(outcome ? { outcome } : {}) }, 'body');
}

export function appendLogsRequestOf(body: unknown): AppendLogsRequest {
  const b = obj(body, 'body');
  const chunks = arr(b.chunks, 'chunks').map((x, i): LogChunk => {
    const ch = obj(x, `chunks[${i}]`);
    return { stream: str(ch.stream, `chunks[${i}].stream`), text: typeof ch.text === 'string' ? ch.text : '', ...(typeof ch.ts === 'number' ? { ts: ch.ts } : {}) };
  });
  return { token: str(b.token, 'token'), chunks };
}

/** `POST /jobs/purge`: `before` (epoch ms) and, optionally, final `states`. */
export function purgeRequestOf(body: unknown): PurgeRequest {
  const b = obj(body, 'body');
  const before = b.before;
  if (typeof before !== 'number' || !Number.isSafeInteger(before) || before < 0) throw new ValidationError('before: expected epoch milliseconds', 'before');
  if (b.states === undefined) return { before };
  const states = stringArray(b.states, 'states');
  for (const s of states) if (!(FINAL_STATES as readonly string[]).includes(s)) throw new ValidationError(`states: "${s}" is not a final state (${FINAL_STATES.join(', ')}); only finished jobs are purged`, 'states');
  return { before, states: states as JobState[] };
}

function completeItemOf(x: unknown, at: string): CompleteItem {
  const it = obj(x, at);
  const outcome = it.outcome;
  if (typeof outcome !== 'string' || !(OUTCOMES as readonly string[]).includes(outcome)) throw new ValidationError(`${at}.outcome: one of ${OUTCOMES.join(', ')}`, `${at}.outcome`);
  if (it.error !== undefined && it.error !== null && typeof it.error !== 'string') throw new ValidationError(`${at}.error: must be a string`, `${at}.error`);
  if (it.retryable !== undefined && typeof it.retryable !== 'boolean') throw new ValidationError(`${at}.retryable: must be true or false`, `${at}.retryable`);
  if (it.result !== undefined) checkJsonBounds(it.result, `${at}.result`, RESULT_BOUNDS);
  if (it.progress !== undefined) checkJsonBounds(it.progress, `${at}.progress`, PROGRESS_BOUNDS);
  if (it.children !== undefined) checkJsonBounds(it.children, `${at}.children`, RESULT_BOUNDS);
  return {
    id: str(it.id, `${at}.id`),
    token: str(it.token, `${at}.token`),
    outcome: outcome as Outcome,
    result: it.result,
    error: (it.error as string | null | undefined) ?? null,
    ...(it.retryable === undefined ? {} : { retryable: it.retryable as boolean }),
    ...(it.release === true ? { release: true } : {}),
    ...(it.progress === undefined ? {} : { progress: it.progress as CompleteItem['progress'] }),
    // Each child is checked by the coordinator as a job spec.
    ...(it.children === undefined ? {} : { children: arr(it.children, `${at}.children`) }),
  };
}

function workerNameOf(x: unknown, at: string): string {
  const name = str(x, at);
  if (!WORKER_NAME.test(name)) throw new ValidationError(`${at}: letters, digits and _ . : @ - only, at most 128`, at);
  return name;
}

function workerInfoOf(x: unknown): WorkerInfo {
  const w = obj(x, 'worker');
  return {
    name: workerNameOf(w.name, 'worker.name'),
    host: typeof w.host === 'string' ? w.host : '',
    kinds: stringArray(w.kinds ?? [], 'worker.kinds'),
    templates: arr(w.templates ?? [], 'worker.templates').map((t, i) => templateAdvertOf(t, `worker.templates[${i}]`)),
    slots: typeof w.slots === 'number' ? w.slots : 0,
    running: typeof w.running === 'number' ? w.running : 0,
    version: typeof w.version === 'string' ? w.version : '',
    ...(w.destinations === undefined ? {} : { destinations: stringArray(w.destinations, 'worker.destinations') }),
    ...(w.stopped === true ? { stopped: true } : {}),
    ...(typeof w.node === 'string' && w.node !== '' ? { node: w.node } : {}),
    ...(w.segments === undefined ? {} : { segments: segmentsOf(w.segments) }),
  };
}

function segmentsOf(x: unknown): { url: string; channels: string[] } {
  const s = obj(x, 'worker.segments');
  const url = str(s.url, 'worker.segments.url');
  if (!/^https?:\/\/[^/@\s]+(\/\S*)?$/.test(url)) throw new ValidationError('worker.segments.url: expected http(s)://HOST:PORT without credentials', 'worker.segments.url');
  return { url, channels: stringArray(s.channels ?? [], 'worker.segments.channels') };
}

/** A heartbeat's worker: its name and running count (a full WorkerInfo from an older worker reads the same). */
function workerPulseOf(x: unknown): WorkerPulse {
  const w = obj(x, 'worker');
  const info = w.info === undefined ? {} : { info: workerInfoOf(w.info) };
  return { name: workerNameOf(w.name, 'worker.name'), running: Number.isSafeInteger(w.running) && (w.running as number) >= 0 ? (w.running as number) : 0, ...info };
}

export function obj(x: unknown, at: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ValidationError(`${at}: must be a JSON object`, at);
  return x as Record<string, unknown>;
}
export function arr(x: unknown, at: string): unknown[] {
  if (!Array.isArray(x)) throw new ValidationError(`${at}: must be an array`, at);
  return x;
}
export function str(x: unknown, at: string): string {
  if (typeof x !== 'string' || x.length === 0) throw new ValidationError(`${at}: must be a non-empty string`, at);
  return x;
}
export function stringArray(x: unknown, at: string): string[] {
  const a = arr(x, at);
  if (a.some((v) => typeof v !== 'string')) throw new ValidationError(`${at}: must be an array of strings`, at);
  return a as string[];
}
