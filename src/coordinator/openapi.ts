import { ROUTES } from '../protocol/routes.js';
import { ADMIN_OPERATIONS } from './openapi-admin.js';
import { JOB_OPERATIONS } from './openapi-jobs.js';
import { type Answer, type OpSpec, type RouteName } from './openapi-kit.js';
import { ref, SCHEMAS } from './openapi-schemas.js';
import { WORKER_OPERATIONS } from './openapi-workers.js';

/**
 * The OpenAPI 3.1 description of the coordinator's HTTP API, served at ROUTES.openapi: every
 * route of ROUTES (openapi-jobs.ts, openapi-workers.ts and openapi-admin.ts say what each takes
 * and answers, openapi-schemas.ts what the bodies are). Here: the errors each kind of route can
 * give, and the document.
 */

/** Every route, by its name in ROUTES: a route added there without its description here does not compile. */
const OPERATIONS: Record<RouteName, OpSpec> = { ...JOB_OPERATIONS, ...WORKER_OPERATIONS, ...ADMIN_OPERATIONS };

export interface DocumentedRoute {
  method: string;
  pattern: string;
}

/** The method and pattern of a route. */
export function documentedRoute(name: RouteName): DocumentedRoute {
  return ROUTES[name];
}

/** A pattern in OpenAPI's form: `:id` → `{id}`. */
export const openApiPath = (pattern: string): string => pattern.replace(/:(\w+)/g, '{$1}');

const ERROR_WHY: Record<number, string> = {
  400: 'Bad input (`invalid`, `field` names it; a query parameter given twice too), or a body that is not JSON or a path that is not valid percent-encoding (`bad_request`)',
  401: 'No bearer token (or session cookie), or one that is wrong, expired, revoked or may not call this route (`unauthorized`)',
  403: 'The token may not do this, or a change made with the session cookie lacks its X-Drover-CSRF header (`forbidden`)',
  404: 'Not found (`not_found`)',
  409: 'Conflicts with the current state (`conflict`)',
  413: 'A body larger than server.max_body (`too_large`)',
  414: 'A path segment longer than 512 characters (`too_large`)',
  415: 'A body that is not JSON: send Content-Type: application/json (`unsupported_media_type`)',
  429: 'Too many failed authentications from this address (`rate_limited`); see Retry-After',
  500: 'A bug: see the coordinator log (`internal`)',
  503: 'The database is unavailable; nothing was changed, retry (`unavailable`); see Retry-After',
  507: "The coordinator's storage is full, or (new jobs) under its free-space reserve (server.disk_reserve_mb); nothing was stored (`storage_full`)",
};

/** The `code` of the errors a route names itself. */
const CODE: Record<number, string> = { 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 429: 'rate_limited', 507: 'storage_full' };

const HEADERS: Record<number, Record<string, string>> = {
  401: { 'WWW-Authenticate': 'Bearer' },
  429: { 'Retry-After': 'Seconds until trying again' },
  503: { 'Retry-After': 'Seconds' },
};

const headersOf = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));

function answer(a: Answer): object {
  return {
    description: a.description,
    ...(a.headers ? { headers: headersOf(a.headers) } : {}),
    ...(a.schema ? { content: { [a.media ?? 'application/json']: { schema: a.schema, ...a.extra } } } : {}),
  };
}

/**
 * The error statuses of a route: its own, and those of every route of its kind. Every route can
 * fail (500) and most read the store (503); a route that needs a token refuses one (401) and a
 * client that failed too often (429), and a change made with the session cookie but without its
 * CSRF header (403); a body is parsed (400, 413, 415) on POST and DELETE, whether the route
 * reads it or not. Any route refuses a query parameter given twice and a path that is not valid
 * percent-encoding (400); one with path params a segment longer than the router takes (414).
 */
export function errorStatuses(method: string, op: OpSpec): number[] {
  const s = new Set(Object.keys(op.errors ?? {}).map(Number)).add(400);
  const changes = method === 'POST' || method === 'DELETE';
  if (op.path) s.add(414);
  if (op.tokens.length > 0) s.add(401).add(429);
  if (op.tokens.length > 0 && changes) s.add(403);
  if (changes) s.add(413).add(415);
  s.add(500);
  if (!op.noStore) s.add(503);
  if (changes && !op.noStore) s.add(507);
  return [...s].sort((a, b) => a - b);
}

function operation(name: RouteName, op: OpSpec): object {
  const { method } = documentedRoute(name);
  const errors = Object.fromEntries(
    errorStatuses(method, op).map((status) => {
      const own = op.errors?.[status as keyof NonNullable<OpSpec['errors']>];
      const notJson = status === 400 ? `; a query parameter given twice too${method === 'POST' || method === 'DELETE' ? '; or a body that is not JSON (`bad_request`)' : ''}` : '';
      const headers = HEADERS[status];
      // A guarded route's own 429 (a long poll's cap) comes beside the failed authentications'; it names its code.
      const why = own === undefined ? ERROR_WHY[status] : status === 429 && op.tokens.length > 0 ? `${ERROR_WHY[429]}; or ${own}` : `${own} (\`${CODE[status]}\`)${notJson}`;
      return [String(status), { description: why, ...(headers ? { headers: headersOf(headers) } : {}), content: { 'application/json': { schema: ref('Error') } } }];
    }),
  );
  const csrf = op.tokens.length > 0 && method !== 'GET' ? [{ name: 'X-Drover-CSRF', in: 'header', required: false, description: 'With the session cookie (not a bearer token): the `csrf` of GET /api/v1/session', schema: { type: 'string' } }] : [];
  const params = [
    ...csrf,
    ...Object.entries(op.path ?? {}).map(([n, description]) => ({ name: n, in: 'path', required: true, description, schema: { type: 'string' } })),
    ...Object.entries(op.query ?? {}).map(([n, { description, ...schema }]) => ({ name: n, in: 'query', required: false, ...(description ? { description } : {}), schema, ...(schema.type === 'array' ? { style: 'form', explode: false } : {}) })),
    ...Object.entries(op.requestHeaders ?? {}).map(([n, description]) => ({ name: n, in: 'header', required: false, description, schema: { type: 'string' } })),
  ];
  const who = op.tokens.length === 0 ? 'No token needed.' : `Tokens: ${op.tokens.join(', ')}.`;
  return {
    operationId: name,
    summary: op.summary,
    description: op.description ? `${op.description}\n\n${who}` : who,
    tags: [op.tag],
    'x-drover-tokens': op.tokens,
    ...(op.tokens.length === 0 ? { security: [] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(op.body ? { requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: op.body } } } } : {}),
    responses: { ...Object.fromEntries(Object.entries(op.ok).map(([status, a]) => [status, answer(a)])), ...errors },
  };
}

/** The OpenAPI 3.1 document. */
export function openApiDocument(version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const [name, op] of Object.entries(OPERATIONS) as Array<[RouteName, OpSpec]>) {
    const r = documentedRoute(name);
    (paths[openApiPath(r.pattern)] ??= {})[r.method.toLowerCase()] = operation(name, op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Drover coordinator API',
      version,
      description: [
        'Jobs, leases, heartbeats and logs, as JSON. Auth: `Authorization: Bearer TOKEN`, unless the coordinator checks no tokens (loopback only).',
        "Each operation's `x-drover-tokens` lists the tokens that may call it: an admin token anything; a worker token the worker routes and /metrics; a read token (a store token, `drover token add --role read`) the GET routes but the token list, and /metrics. A worker may show a client certificate the client CA signed instead of a worker token.",
        'A browser signs in at POST /api/v1/session and is then known by the http-only `drover_session` cookie.',
        'Every error answers `{"error": {"code", "message", "field"?}}`.',
      ].join('\n\n'),
    },
    tags: [
      { name: 'jobs', description: 'Make, find, watch, cancel and retry jobs; schedules, queues, imports' },
      { name: 'workers', description: 'The worker protocol: leases, heartbeats, outcomes, logs, stops' },
      { name: 'admin', description: 'Tokens and queues' },
      { name: 'session', description: 'Signing a browser in and out' },
      { name: 'service', description: 'Health, metrics and this document' },
    ],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The token file\'s admin or worker token, or a store token (drover token add)' },
        session: { type: 'apiKey', in: 'cookie', name: 'drover_session', description: 'Set by POST /api/v1/session' },
      },
      schemas: SCHEMAS,
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}
