import http from 'node:http';
import fc from 'fast-check';
import { parseConfig } from '../../src/config/config.js';
import { WEB_ROUTES } from '../../src/coordinator/routes-web.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { SESSION_COOKIE } from '../../src/coordinator/sessions.js';
import { silentLogger } from '../../src/core/logger.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { examplesOf, type Known } from './route-fuzz-examples.js';
import { describeExchange, problemOf, type Answer, type Auth, type RouteSpec, type Wire } from './route-fuzz-checks.js';
import { bodyOf, jsonText, propertyNames, queryOf, segmentOf, stringValue, type BodyPlan, type Schema, type ValueContext } from './route-fuzz-values.js';

/**
 * Property-based fuzzing of every route of the coordinator's API (issue 17), over real HTTP: each
 * route of ROUTES (and the dashboard's asset route) gets requests fast-check makes — odd path
 * segments, query strings and bodies (route-fuzz-values.ts), with the admin token, the worker
 * token, a wrong one or none — and every answer is held to route-fuzz-checks.ts. A broken
 * property is shrunk by fast-check and reported with the request and its answer. Used by
 * test/coordinator/route-fuzz.test.ts and by `npm run chaos -- --scenarios fuzz`.
 */

const ADMIN = 'fuzz-admin-token-0123456789';
const WORKER = 'fuzz-worker-token-0123456789';
/** Wrong authorizations: none of them is a token of the coordinator's, nor a session's cookie. */
const WRONG: Array<[string, string]> = [
  ...['Bearer nope', 'Bearer ', `bearer ${ADMIN}`, `Bearer ${ADMIN}x`, ADMIN, 'Basic YWRtaW46YWRtaW4=', `Bearer ${WORKER.slice(0, -1)}`].map((v): [string, string] => ['authorization', v]),
  ...[`${SESSION_COOKIE}=nope`, `${SESSION_COOKIE}=`, `${SESSION_COOKIE}=${ADMIN}`, `a=b; ${SESSION_COOKIE}=%00`].map((v): [string, string] => ['cookie', v]),
];

export interface FuzzTarget {
  url: string;
  server: RunningServer;
  /** Names the store knows (job ids, lease tokens, schedule, token, queue and worker names), drawn on by the arbitraries. */
  pool: string[];
  /** Valid bodies by route name (route-fuzz-examples.ts). */
  examples: Record<string, unknown[]>;
  close(): Promise<void>;
}

export interface FuzzStats {
  requests: number;
  byStatus: Record<string, number>;
  /** Per route: answers by status. */
  byRoute: Record<string, Record<string, number>>;
  slowestMs: number;
  /** One per route whose property broke: fast-check's report, with the shrunk request and its answer. */
  failures: Array<{ route: string; report: string }>;
}

/**
 * A coordinator to fuzz, on a free loopback port with its data in `dataDir`: tokens checked, long
 * polls of 20 ms, bodies up to 256 KiB (so a body past the limit is cheap to send), failed
 * authentications not blocking (the fuzzer sends many), and a few jobs, a schedule and a token made.
 */
export async function startFuzzTarget(dataDir: string): Promise<FuzzTarget> {
  const { templates } = parseConfig('templates:\n  hikload:\n    argv: [hikload, "--server={server}", "--password={password}"]\n    secrets: [password]\n');
  const server = await startServer({
    port: 0,
    dataDir,
    tokens: { admin: ADMIN, worker: WORKER },
    templates: templates.values(),
    logger: silentLogger(),
    tickMs: 3_600_000,
    maxLongPollMs: 20,
    maxBodyBytes: 256 * 1024,
    authLimits: { maxFailures: Number.MAX_SAFE_INTEGER, windowMs: 1_000, blockMs: 1 },
  });
  try {
    const known = await prime(server.url);
    const pool = [...known.jobIds, ...known.leases.map((l) => l.token), 'fuzz-sched', 'fuzz-token', 'fuzz-w', 'default', 'q1', 'noop', 'exec', 'hikload', 'cam1', 'failed', 'succeeded', 'worker', 'read', 'admin', ADMIN, WORKER];
    return { url: server.url, server, pool, examples: examplesOf(known), close: () => server.close() };
  } catch (err) {
    await server.close();
    throw err;
  }
}

/** Makes what the fuzzer's requests may name: jobs queued, leased, failed and canceled, with a log; a schedule; a worker token. */
async function prime(url: string): Promise<Known> {
  const call = async <T>(method: string, path: string, body: unknown, token = ADMIN): Promise<T> => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`priming the fuzzed coordinator: ${method} ${path} answered ${res.status} ${await res.text()}`);
    return (res.status === 204 ? null : await res.json()) as T;
  };
  const jobs = [...Array.from({ length: 4 }, () => ({ kind: 'noop' })), { template: 'hikload', params: { server: 'cam1', password: 'pw' }, queue: 'q1', tags: ['t1'], owner: 'fuzz' }];
  const { ids } = await call<{ ids: string[] }>('POST', ROUTES.enqueue.path('ids'), { jobs });
  const worker = { name: 'fuzz-w', kinds: ['noop', 'exec'], slots: 3 };
  const leased = (await call<{ jobs: Array<{ id: string; lease: { token: string } }> }>('POST', ROUTES.lease.path(), { worker, limit: 3, queues: ['default'] }, WORKER)).jobs;
  const [a, b] = leased;
  if (!a || !b) throw new Error('priming the fuzzed coordinator: leased fewer than 2 jobs');
  await call('POST', ROUTES.appendLogs.path(a.id), { token: a.lease.token, chunks: [{ stream: 'stdout', text: 'hello\n' }] }, WORKER);
  await call('POST', ROUTES.failOne.path(b.id), { token: b.lease.token, outcome: 'failed', error: 'made to fail', retryable: false }, WORKER);
  const queued = ids.filter((id) => !leased.some((j) => j.id === id));
  if (queued[0]) await call('POST', ROUTES.cancel.path(queued[0]), {});
  await call('POST', ROUTES.putSchedule.path(), { name: 'fuzz-sched', every: '1h', job: { kind: 'noop' } });
  await call('POST', ROUTES.createToken.path(), { name: 'fuzz-token', role: 'worker', queues: ['q1'] });
  // The first lease stays running (its log was written to); the second failed.
  return { jobIds: ids, leases: leased.map((j) => ({ id: j.id, token: j.lease.token })), adminToken: ADMIN, workerToken: WORKER };
}

interface Operation {
  parameters?: Array<{ name: string; in: string; schema: Schema }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  'x-drover-tokens': string[];
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** Every route of ROUTES, described by the document the coordinator serves (a route missing from it is an error); and the dashboard's asset route. */
async function routeSpecs(url: string): Promise<{ specs: RouteSpec[]; schemas: Record<string, Schema> }> {
  const doc = (await (await fetch(`${url}${ROUTES.openapi.path()}`)).json()) as Doc;
  const cx = { schemas: doc.components.schemas, pool: [] };
  const specs = Object.entries(ROUTES).map(([name, r]): RouteSpec => {
    const op = doc.paths[r.pattern.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()];
    if (!op) throw new Error(`route ${name} (${r.method} ${r.pattern}) is not in the OpenAPI document`);
    const body = op.requestBody?.content['application/json']?.schema;
    const isError = (a: Operation['responses'][string]) => a.content?.['application/json']?.schema.$ref === '#/components/schemas/Error';
    return {
      name,
      method: r.method,
      pattern: r.pattern,
      params: [...r.pattern.matchAll(/:(\w+)/g)].map((m) => m[1] as string),
      query: Object.fromEntries((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
      ...(body ? { body } : {}),
      tokens: op['x-drover-tokens'],
      responses: Object.fromEntries(Object.entries(op.responses).map(([status, a]) => [status, isError(a)])),
      headers: (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name),
      bodyFields: propertyNames(body, cx),
    };
  });
  // The page itself takes nothing from the request; the asset route takes a name.
  const asset: RouteSpec = { name: 'webAsset', method: WEB_ROUTES.asset.method, pattern: WEB_ROUTES.asset.pattern, params: ['name'], query: {}, tokens: [], responses: {}, headers: [], bodyFields: [] };
  return { specs: [...specs, asset], schemas: doc.components.schemas };
}

interface FuzzRequest {
  auth: Auth;
  wrong: [string, string];
  /** A GET route asked with HEAD. */
  head: boolean;
  segments: string[];
  query: string;
  body: BodyPlan;
  idempotencyKey: string | null;
}

function requestsOf(spec: RouteSpec, cx: ValueContext, examples: readonly unknown[] = []): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    auth: fc.oneof({ weight: 5, arbitrary: fc.constant<Auth>('admin') }, { weight: 2, arbitrary: fc.constant<Auth>('worker') }, { weight: 1, arbitrary: fc.constantFrom<Auth>('none', 'wrong') }),
    wrong: fc.constantFrom(...WRONG),
    head: spec.method === 'GET' ? fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) : fc.constant(false),
    segments: fc.tuple(...spec.params.map(() => segmentOf(cx.pool))),
    query: fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 3, arbitrary: queryOf(spec.query, cx) }),
    body: spec.method === 'GET' ? fc.oneof({ weight: 9, arbitrary: fc.constant<BodyPlan>({ kind: 'none' }) }, { weight: 1, arbitrary: bodyOf(undefined, cx) }) : bodyOf(spec.body, cx, examples),
    idempotencyKey: fc.option(fc.oneof(stringValue(cx.pool).filter((s) => /^[\x20-\x7e]*$/.test(s)), fc.stringMatching(/^[!-~]{200,300}$/)), { nil: null, freq: 4 }),
  });
}

function wireOf(spec: RouteSpec, r: FuzzRequest): Wire {
  let i = 0;
  const path = spec.pattern.replace(/:(\w+)/g, () => r.segments[i++] ?? '') + (r.query ? `?${r.query}` : '');
  const headers: Record<string, string> = {};
  if (r.auth === 'admin') headers.authorization = `Bearer ${ADMIN}`;
  if (r.auth === 'worker') headers.authorization = `Bearer ${WORKER}`;
  if (r.auth === 'wrong') headers[r.wrong[0]] = r.wrong[1];
  if (r.idempotencyKey !== null) headers['idempotency-key'] = r.idempotencyKey;
  let payload: Buffer | null = null;
  if (r.body.kind === 'json') payload = Buffer.from(jsonText(r.body.value));
  if (r.body.kind === 'bytes') payload = Buffer.from(r.body.bytes);
  if (r.body.kind !== 'none' && r.body.type !== null) headers['content-type'] = r.body.type;
  if (payload !== null) headers['content-length'] = String(payload.length);
  return { method: r.head ? 'HEAD' : spec.method, path, headers, payload, auth: r.auth };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** Sends `w` to `base`; an event stream is answered once its headers are in. */
function send(base: string, w: Pick<Wire, 'method' | 'path' | 'headers' | 'payload'>, timeoutMs: number): Promise<Answer> {
  const { hostname, port } = new URL(base);
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request({ host: hostname, port, method: w.method, path: w.path, headers: w.headers, agent }, (res) => {
      const type = String(res.headers['content-type'] ?? '');
      const done = (text: string) => resolve({ status: res.statusCode ?? 0, type, text, ms: performance.now() - started });
      if (type.startsWith('text/event-stream')) {
        res.destroy();
        return done('');
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
      res.on('error', (err) => resolve({ error: `${err.message} while reading a ${res.statusCode} answer` }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(w.payload ?? undefined);
  });
}

/** Whether the coordinator still answers /healthz with {"ok": true}. */
async function healthy(url: string): Promise<boolean> {
  const a = await send(url, { method: 'GET', path: ROUTES.health.path(), headers: {}, payload: null }, 10_000);
  return !('error' in a) && a.status === 200 && /^\{"ok":true\b/.test(a.text);
}

export interface FuzzOptions {
  /** Requests per route before shrinking; or `requests`, spread evenly over the routes. */
  runsPerRoute?: number;
  requests?: number;
  /** Longest wait for one answer, ms. Default 10000. */
  timeoutMs?: number;
}

/** Fuzzes every route of `t` in turn; a route whose property breaks is reported (shrunk) and the others go on. */
export async function fuzzRoutes(t: FuzzTarget, o: FuzzOptions): Promise<FuzzStats> {
  const { specs, schemas } = await routeSpecs(t.url);
  const cx: ValueContext = { schemas, pool: t.pool };
  const stats: FuzzStats = { requests: 0, byStatus: {}, byRoute: {}, slowestMs: 0, failures: [] };
  const numRuns = o.runsPerRoute ?? Math.ceil((o.requests ?? 1_000) / specs.length);
  for (const spec of specs) {
    const property = fc.asyncProperty(requestsOf(spec, cx, t.examples[spec.name]), async (r) => {
      const w = wireOf(spec, r);
      const a = await send(t.url, w, o.timeoutMs ?? 10_000);
      stats.requests++;
      const status = 'error' in a ? 'no answer' : String(a.status);
      stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
      const route = (stats.byRoute[spec.name] ??= {});
      route[status] = (route[status] ?? 0) + 1;
      if (!('error' in a)) stats.slowestMs = Math.max(stats.slowestMs, a.ms);
      let problem = problemOf(spec, w, a);
      if (problem && 'error' in a && !(await healthy(t.url))) problem += '; and the coordinator stopped answering /healthz';
      if (problem) throw new Error(describeExchange(w, a, `${spec.name}: ${problem}`));
    });
    const run = await fc.check(property, { numRuns, includeErrorInReport: true });
    if (run.failed) stats.failures.push({ route: spec.name, report: fc.defaultReportMessage(run) ?? `${spec.name}: failed` });
    if (!(await healthy(t.url))) {
      stats.failures.push({ route: spec.name, report: `the coordinator stopped answering /healthz after the requests of ${spec.name}` });
      break;
    }
  }
  return stats;
}
