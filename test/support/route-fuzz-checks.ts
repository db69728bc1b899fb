import { ERROR_CODES } from '../../src/coordinator/openapi-schemas.js';
import type { Schema } from './route-fuzz-values.js';

/**
 * What route-fuzz.ts holds every answer to: never 5xx, never no answer; an error is the documented
 * `{"error": {"code", "message", "field"?}}` with the code of its status; a 400 `invalid` names
 * its field (`field`), one of the request's; a route that needs a token refuses none or the wrong one (401)
 * and never the right one; the status is one the route's OpenAPI operation lists.
 */

/** A route as the fuzzer sees it: ROUTES' method and pattern, the rest from the OpenAPI document. */
export interface RouteSpec {
  name: string;
  method: string;
  pattern: string;
  /** The `:name`s of the pattern. */
  params: string[];
  query: Record<string, Schema>;
  body?: Schema;
  /** Its `x-drover-tokens`; empty: public. */
  tokens: string[];
  /** Documented statuses → whether the answer is the Error schema. Empty when the route is not in the document. */
  responses: Record<string, boolean>;
  /** Request headers it reads. */
  headers: string[];
  /** The top-level fields a body may have. */
  bodyFields: string[];
}

export type Auth = 'admin' | 'worker' | 'none' | 'wrong';

/** A request as sent. */
export interface Wire {
  method: string;
  path: string;
  headers: Record<string, string>;
  payload: Buffer | null;
  auth: Auth;
}

export type Answer = { status: number; type: string; text: string; ms: number } | { error: string };

/** The error codes each error status may carry. */
const CODES: Record<number, readonly string[]> = { 400: ['invalid', 'bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 408: ['bad_request'], 409: ['conflict'], 413: ['too_large'], 414: ['too_large'], 415: ['unsupported_media_type'], 429: ['rate_limited'] };

interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** What is wrong with `a` as the answer to `w` on `spec`; null: nothing. */
export function problemOf(spec: RouteSpec, w: Wire, a: Answer): string | null {
  if ('error' in a) return `no answer: ${a.error}`;
  if (a.status >= 500) return `answered ${a.status}`;
  const documented = spec.responses[String(a.status)];
  // A HEAD has no body to hold to anything: its status only.
  if (w.method === 'HEAD') return headProblem(spec, w, a.status);
  let err: ErrorBody | null = null;
  if (a.status >= 400 && documented !== false) {
    const e = errorOf(a);
    if (typeof e === 'string') return e;
    err = e;
  }
  // A path that matches no route (an empty segment): the not-found handler's 404, or the 401 every unknown path gets without a token;
  // or one the router refuses before the token is looked at (not percent-encoding, a segment too long).
  const unmatched = (a.status === 404 && err?.message.startsWith('no route ') === true) || ((a.status === 400 || a.status === 414) && err?.message.startsWith('path: ') === true);
  const open = spec.tokens.length === 0;
  const permitted = w.auth === 'admin' || (w.auth === 'worker' && spec.tokens.includes('worker'));
  if (!open && !permitted && !unmatched && err?.code !== 'unauthorized') return `${w.auth === 'worker' ? 'a worker token' : w.auth === 'wrong' ? 'a wrong token' : 'no token'} on a route for ${spec.tokens.join(', ')} tokens: expected 401 unauthorized, got ${a.status}`;
  if (!open && permitted && (a.status === 401 || a.status === 403)) return `the ${w.auth} token was refused (${a.status})`;
  if (err && a.status === 400 && err.code === 'invalid') {
    if (!err.field) return 'a 400 invalid without the field it is about';
    const root = err.field.split(/[.[]/)[0] ?? '';
    const sent = [...new URLSearchParams(w.path.split('?')[1] ?? '').keys()];
    const names = new Set(['body', 'query', ...spec.params, ...Object.keys(spec.query), ...sent, ...spec.bodyFields, ...bodyKeys(w.payload), ...spec.headers]);
    if (!names.has(err.field) && !names.has(root)) return `field ${err.field} is none of the request's (${[...names].join(', ')})`;
  }
  if (err && a.status === 400 && err.code === 'bad_request' && !/^(body|query|path|url)\b/i.test(err.message)) return 'a 400 bad_request whose message does not say what is wrong (body, query, path)';
  if (Object.keys(spec.responses).length > 0 && !unmatched && documented === undefined) return `status ${a.status} is not in the OpenAPI document for ${spec.name}`;
  return null;
}

function headProblem(spec: RouteSpec, w: Wire, status: number): string | null {
  const permitted = spec.tokens.length === 0 || w.auth === 'admin' || (w.auth === 'worker' && spec.tokens.includes('worker'));
  if (!permitted && ![401, 400, 404, 414].includes(status)) return `HEAD without a valid token for it: expected 401, got ${status}`;
  if (permitted && spec.tokens.length > 0 && (status === 401 || status === 403)) return `the ${w.auth} token was refused (${status})`;
  return null;
}

/** The keys of a body that is a JSON object. */
function bodyKeys(payload: Buffer | null): string[] {
  try {
    const v: unknown = payload === null ? null : JSON.parse(payload.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v) : [];
  } catch {
    return [];
  }
}

/** The answer's error, or what is wrong with its shape. */
function errorOf(a: { status: number; type: string; text: string }): ErrorBody | string {
  if (!a.type.startsWith('application/json')) return `an error answered as ${a.type || 'no content type'}, not JSON`;
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return 'an error whose body is not JSON';
  }
  const top = typeof body === 'object' && body !== null ? Object.keys(body) : [];
  const e = (body as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  if (top.join() !== 'error' || typeof e !== 'object' || e === null || Array.isArray(e)) return 'an error not shaped {"error": {...}}';
  const extra = Object.keys(e).filter((k) => !['code', 'message', 'field'].includes(k));
  if (extra.length > 0) return `an error with undocumented members ${extra.join(', ')}`;
  if (typeof e.code !== 'string' || !(ERROR_CODES as readonly string[]).includes(e.code)) return `error code ${JSON.stringify(e.code)} is not one of ERROR_CODES`;
  if (typeof e.message !== 'string' || e.message.trim() === '') return 'an error without a message';
  if (e.field !== undefined && (typeof e.field !== 'string' || e.field === '')) return 'an error whose field is not a name';
  const codes = CODES[a.status];
  if (!codes) return `an error status the API does not give: ${a.status}`;
  if (!codes.includes(e.code)) return `code ${e.code} with status ${a.status} (expected ${codes.join(' or ')})`;
  return e as unknown as ErrorBody;
}

const cut = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

/** The request and its answer, for a failure's message. */
export function describeExchange(w: Wire, a: Answer, problem: string): string {
  const headers = Object.entries(w.headers).map(([k, v]) => `${k}: ${k === 'authorization' ? `<${w.auth}>` : cut(v, 80)}`);
  const sent = w.payload === null ? '(none)' : cut(w.payload.toString('utf8'));
  const got = 'error' in a ? a.error : `${a.status} ${a.type} ${cut(a.text)}`;
  return `${problem}\n  ${w.method} ${cut(w.path, 300)}\n  ${headers.join('\n  ')}\n  body: ${sent}\n  answer: ${got}`;
}
