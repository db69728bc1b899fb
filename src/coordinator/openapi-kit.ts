import type { ROUTES } from '../protocol/routes.js';

/**
 * How openapi-jobs.ts, openapi-workers.ts and openapi-admin.ts describe each route, by its name
 * in ROUTES: who may call it, its params, its body and its answers. openapi.ts adds the errors
 * every route of its kind can give (401, 413, 500…); `errors` names the others.
 */

/** Token roles: `read` tokens are store tokens (drover token add --role read). */
export type TokenRole = 'admin' | 'worker' | 'read';

export interface Answer {
  description: string;
  /** Of the JSON body; none: no body (204). */
  schema?: object;
  /** Default application/json. */
  media?: string;
  headers?: Record<string, string>;
  extra?: Record<string, unknown>;
}

export interface OpSpec {
  summary: string;
  description?: string;
  tag: 'jobs' | 'workers' | 'admin' | 'session' | 'service';
  /** The tokens that may call it (an admin token always may); empty: anyone, no token needed. */
  tokens: readonly TokenRole[];
  /** Path params (`:id` of the pattern) → description. */
  path?: Record<string, string>;
  /** Query params → schema (with its description). */
  query?: Record<string, Record<string, unknown>>;
  /** Request headers it reads → description. */
  requestHeaders?: Record<string, string>;
  /** The JSON body's schema. */
  body?: object;
  /** The body may be left out (a POST that takes none ignores any). */
  bodyOptional?: true;
  /** Success answers by status. */
  ok: Record<number, Answer>;
  /** Errors of this route beyond those of every route of its kind, by status: why. */
  errors?: Partial<Record<400 | 401 | 403 | 404 | 409 | 429 | 507, string>>;
  /** Never reads the store: no 503. */
  noStore?: true;
}

export type RouteName = keyof typeof ROUTES;

/** What some routes say of each: by route name. */
export type Operations = Partial<Record<RouteName, OpSpec>>;

export const PUBLIC: readonly TokenRole[] = [];
export const ADMIN: readonly TokenRole[] = ['admin'];
/** Admin GETs: a read token may call them too. */
export const READ: readonly TokenRole[] = ['admin', 'read'];
/** The worker routes: a worker token (or a client certificate the client CA signed, on the worker routes). */
export const WORKER: readonly TokenRole[] = ['admin', 'worker'];
export const ANY: readonly TokenRole[] = ['admin', 'worker', 'read'];

export const obj = (properties: Record<string, object>, required: string[] = Object.keys(properties), more: object = {}) => ({ type: 'object', properties, required, ...more });
export const str = { type: 'string' };
export const int = { type: 'integer' };
export const list = (items: object) => ({ type: 'array', items });
export const nonNeg = (description: string, more: object = {}) => ({ type: 'integer', minimum: 0, description, ...more });
/** The body of a POST that takes none. */
export const ignored = { type: 'object', description: 'Takes no body: none, or any JSON object (ignored)' };
export const wait = nonNeg('Long poll, ms; at most server.long_poll (default 30 s)');
export const idPath = { id: 'The job id' };
/** The 429 of a long poll over its cap (poll-caps.ts). */
export const tooManyPolls = 'server.max_long_polls long polls wait already (`too_many_polls`); see Retry-After';
/** The 429 of a worker's long poll over its caps. */
export const tooManyWorkerPolls = 'this worker holds server.max_long_polls_per_worker lease and stop long polls already, or the coordinator server.max_long_polls (`too_many_polls`); see Retry-After';
