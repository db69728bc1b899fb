import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { ERROR_CODES } from '../../src/coordinator/openapi-schemas.js';
import { openApiPath } from '../../src/coordinator/openapi.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import type { ListFilter } from '../../src/core/job-filter.js';
import { silentLogger } from '../../src/core/logger.js';
import { countFilterOf, filterQuery, listFilterOf } from '../../src/protocol/query.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { tempDir, waitFor } from '../support/tmp.js';

/**
 * The OpenAPI document a real coordinator serves: valid OpenAPI 3.1 (a real validator), every
 * route of ROUTES in it with its params, body and answers, and what the coordinator answers —
 * successes and errors — as it says, checked against its own schemas.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ADMIN = 'admin-file-token-0123456789';
const WORKER = 'worker-file-token-0123456789';

const { templates } = parseConfig(`
templates:
  hikload:
    argv: [hikload, "--server={server}", "--password={password}"]
    secrets: [password]
`);

async function server(o: Partial<Parameters<typeof startServer>[0]> = {}): Promise<RunningServer> {
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: ADMIN, worker: WORKER }, templates: templates.values(), logger: silentLogger(), tickMs: 3_600_000, ...o });
  cleanups.push(() => srv.close());
  return srv;
}

type Route = { method: string; pattern: string; path: (...args: never[]) => string };
type Schema = Record<string, unknown>;
interface Operation {
  operationId: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Schema }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }>; headers?: Record<string, unknown> }>;
  'x-drover-tokens': string[];
}
interface Doc {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}
interface Found {
  path: string;
  method: string;
  op: Operation;
}

const routes = ROUTES as unknown as Record<string, Route>;
/** The statuses of errors: their answers are the Error schema. */
const ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 414, 415, 429, 500, 503];

async function documentOf(srv: RunningServer): Promise<Doc> {
  const res = await fetch(`${srv.url}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

/** Each operation of the document by its operationId (the route's name in ROUTES). */
function operations(doc: Doc): Map<string, Found> {
  const out = new Map<string, Found>();
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      expect(out.has(op.operationId), `operationId ${op.operationId} twice`).toBe(false);
      out.set(op.operationId, { path: p, method, op });
    }
  }
  return out;
}

// --- A small JSON Schema check: the keywords the document uses, objects closed where they list their properties. ---

const KEYWORDS = new Set(['$ref', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'oneOf', 'anyOf', 'minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'description', 'default', 'contentEncoding']);

function resolve(doc: Doc, $ref: string): Schema {
  const name = /^#\/components\/schemas\/([\w-]+)$/.exec($ref)?.[1];
  const s = name === undefined ? undefined : doc.components.schemas[name];
  if (!s) throw new Error(`cannot resolve ${$ref}`);
  return s;
}

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'null':
      return v === null;
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'array':
      return Array.isArray(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    default:
      return typeof v === type;
  }
}

/**
 * What is wrong with `v` by `schema` (none: it fits). An object schema listing `properties`
 * without `additionalProperties` is closed: a field the document does not list is a problem.
 */
function problems(doc: Doc, schema: Schema, v: unknown, at = '$'): string[] {
  const unknown = Object.keys(schema).filter((k) => !KEYWORDS.has(k));
  if (unknown.length > 0) throw new Error(`${at}: the check knows no keyword ${unknown.join(', ')}`);
  if (typeof schema.$ref === 'string') return problems(doc, resolve(doc, schema.$ref), v, at);
  const show = JSON.stringify(v)?.slice(0, 80);
  if (schema.type !== undefined) {
    const types = [schema.type].flat() as string[];
    if (!types.some((t) => typeOk(t, v))) return [`${at}: ${show} is not ${types.join(' or ')}`];
  }
  const out: string[] = [];
  if ('const' in schema && v !== schema.const) out.push(`${at}: ${show} is not ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(v)) out.push(`${at}: ${show} is not one of ${JSON.stringify(schema.enum)}`);
  if (Array.isArray(schema.oneOf)) {
    const fits = (schema.oneOf as Schema[]).map((s) => problems(doc, s, v, at));
    const n = fits.filter((p) => p.length === 0).length;
    if (n !== 1) out.push(`${at}: fits ${n} of oneOf (${fits.map((p) => p[0] ?? 'fits').join(' | ')})`);
  }
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as Schema[]).some((s) => problems(doc, s, v, at).length === 0)) out.push(`${at}: fits none of anyOf`);
  if (typeOk('object', v)) {
    const o = v as Record<string, unknown>;
    for (const r of (schema.required as string[] | undefined) ?? []) if (!(r in o)) out.push(`${at}.${r}: missing`);
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    const more = schema.additionalProperties as Schema | boolean | undefined;
    for (const [k, x] of Object.entries(o)) {
      if (props[k]) out.push(...problems(doc, props[k], x, `${at}.${k}`));
      else if (typeof more === 'object') out.push(...problems(doc, more, x, `${at}.${k}`));
      else if (more === false || (more === undefined && schema.properties)) out.push(`${at}.${k}: not in the document`);
    }
  }
  if (Array.isArray(v)) {
    if (schema.items) v.forEach((x, i) => out.push(...problems(doc, schema.items as Schema, x, `${at}[${i}]`)));
    if (typeof schema.minItems === 'number' && v.length < schema.minItems) out.push(`${at}: fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && v.length > schema.maxItems) out.push(`${at}: more than ${schema.maxItems} items`);
  }
  if (typeof v === 'number') {
    if (typeof schema.minimum === 'number' && v < schema.minimum) out.push(`${at}: ${v} < ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && v > schema.maximum) out.push(`${at}: ${v} > ${schema.maximum}`);
  }
  if (typeof v === 'string') {
    if (typeof schema.minLength === 'number' && v.length < schema.minLength) out.push(`${at}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && v.length > schema.maxLength) out.push(`${at}: longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(v)) out.push(`${at}: does not match ${schema.pattern}`);
  }
  return out;
}

/** Every schema of the document, with where it is: components, params, bodies, answers, headers, and all they nest. */
function allSchemas(doc: Doc): Array<[string, Schema]> {
  const out: Array<[string, Schema]> = [];
  const walk = (s: Schema, at: string) => {
    out.push([at, s]);
    for (const [k, x] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) walk(x, `${at}.properties.${k}`);
    for (const k of ['items', 'additionalProperties'] as const) if (typeof s[k] === 'object' && s[k] !== null) walk(s[k] as Schema, `${at}.${k}`);
    for (const k of ['oneOf', 'anyOf'] as const) ((s[k] ?? []) as Schema[]).forEach((x, i) => walk(x, `${at}.${k}[${i}]`));
  };
  for (const [n, s] of Object.entries(doc.components.schemas)) walk(s, `#/components/schemas/${n}`);
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(methods)) {
      const at = `${m.toUpperCase()} ${p}`;
      for (const prm of op.parameters ?? []) walk(prm.schema, `${at} ${prm.in} ${prm.name}`);
      for (const [media, c] of Object.entries(op.requestBody?.content ?? {})) walk(c.schema, `${at} body ${media}`);
      for (const [status, r] of Object.entries(op.responses)) {
        for (const [media, c] of Object.entries(r.content ?? {})) walk(c.schema, `${at} ${status} ${media}`);
        for (const [h, x] of Object.entries(r.headers ?? {})) walk((x as { schema: Schema }).schema, `${at} ${status} header ${h}`);
      }
    }
  }
  return out;
}

// --- Talking to the coordinator, each request and answer held to the document. ---

interface Call {
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** Sent as JSON, checked against the documented body first. */
  body?: unknown;
  /** Sent as it is, unchecked. */
  raw?: string;
  contentType?: string;
  token?: string;
  headers?: Record<string, string>;
  /** A stream (SSE), read up to its first event, or not at all; then the request is dropped. */
  stream?: 'first-event' | 'headers';
  /** Send `body` whatever the document says of it (bad input on purpose). */
  unchecked?: true;
}
interface Answered {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

/** Speaks to one coordinator by route name; notes the statuses each route answered. */
class Speaker {
  readonly seen = new Map<string, Set<number>>();
  private readonly ops: Map<string, Found>;

  constructor(
    private readonly srv: RunningServer,
    readonly doc: Doc,
  ) {
    this.ops = operations(doc);
  }

  op(name: string): Found {
    const f = this.ops.get(name);
    if (!f) throw new Error(`route ${name} is not in the document`);
    return f;
  }

  async call(name: string, c: Call = {}): Promise<Answered> {
    const { op, method, path: p } = this.op(name);
    const inQuery = new Set((op.parameters ?? []).filter((x) => x.in === 'query').map((x) => x.name));
    for (const k of Object.keys(c.query ?? {})) expect(inQuery.has(k), `${name}: query param ${k} is not in the document`).toBe(true);
    if (c.body !== undefined && !c.unchecked) {
      const schema = op.requestBody?.content['application/json']?.schema;
      expect(schema, `${name}: takes no body in the document`).toBeDefined();
      expect(problems(this.doc, schema as Schema, c.body), `${name}: the request body does not fit the document`).toEqual([]);
    }
    const url = new URL(this.srv.url + p.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(c.params?.[k] ?? 'nope')));
    for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...c.headers };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    const payload = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
    if (payload !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
    const ac = new AbortController();
    const res = await fetch(url, { method: method.toUpperCase(), headers, ...(payload === undefined ? {} : { body: payload }), signal: ac.signal });
    const text = c.stream === 'first-event' && res.ok ? await firstEvent(res, ac) : c.stream === 'headers' && res.ok ? '' : await res.text();
    ac.abort();
    const json = res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined;
    const answered = { status: res.status, body: json, text, headers: res.headers };
    this.check(name, answered);
    return answered;
  }

  /** The status is one the route lists, and the body fits what the document says of it. */
  private check(name: string, a: Answered): void {
    const { op } = this.op(name);
    const r = op.responses[String(a.status)];
    expect(r, `${name}: answered ${a.status} (${a.text.slice(0, 200)}), not in the document`).toBeDefined();
    (this.seen.get(name) ?? this.seen.set(name, new Set()).get(name))?.add(a.status);
    const media = Object.keys(r?.content ?? {})[0];
    if (media === undefined) return expect(a.text, `${name}: ${a.status} has no body in the document`).toBe('');
    expect(a.headers.get('content-type'), `${name}: ${a.status}`).toContain(media);
    if (media === 'application/json') expect(problems(this.doc, r?.content?.[media]?.schema as Schema, a.body), `${name}: the ${a.status} answer does not fit the document`).toEqual([]);
  }

  /** A route's error: the Error schema (checked by `call`), with this code. */
  async refused(name: string, c: Call, status: number, code: string): Promise<Answered> {
    const a = await this.call(name, { ...c, unchecked: true });
    expect(a.status, `${name}: ${a.text}`).toBe(status);
    expect(problems(this.doc, { $ref: '#/components/schemas/Error' }, a.body)).toEqual([]);
    expect((a.body as { error: { code: string } }).error.code).toBe(code);
    return a;
  }
}

/** An SSE stream up to its first whole event with data (at most 5 s). */
async function firstEvent(res: Response, ac: AbortController): Promise<string> {
  const timer = setTimeout(() => ac.abort(), 5_000);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = '';
  const whole = () => text.replace(/\r/g, '').split('\n\n').slice(0, -1).some((block) => /^data:/m.test(block));
  try {
    while (!whole()) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } catch {
    // Aborted: what came so far.
  } finally {
    clearTimeout(timer);
  }
  return text;
}

/** The query keys a parser of protocol/query.ts reads. */
function keysRead(parse: (q: Record<string, string | undefined>) => unknown): string[] {
  const read = new Set<string>();
  parse(new Proxy({}, { get: (_t, k) => (typeof k === 'string' && read.add(k), undefined) }));
  return [...read];
}

/** A list filter with every field filterQuery knows set. */
const everyFilter = new Proxy({}, { get: (_t, k) => (k === 'state' ? ['queued'] : '1') }) as ListFilter;

/** Arguments for ROUTES' path builders whose URLs carry a query; other builders are called with none. */
const SAMPLE_ARGS: Record<string, unknown[][]> = {
  enqueue: [[], ['dryRun'], ['ids']],
  list: [[filterQuery(everyFilter)]],
  counts: [[new URLSearchParams()]],
  job: [['j']],
  waitJob: [['j', 1, 1]],
  readLogs: [['j', 1, 1, 1]],
  workers: [[true]],
  stops: [['w', 1]],
};

/** The query params of a route: those its client sends (its path builder), and those the server's query parsers read. */
function queryKeysOf(name: string, r: Route): string[] {
  const keys = new Set<string>();
  const samples = SAMPLE_ARGS[name] ?? (r.path.length === 0 ? [[]] : []);
  for (const args of samples) for (const k of new URL((r.path as (...a: unknown[]) => string)(...args), 'http://h').searchParams.keys()) keys.add(k);
  if (name === 'list') for (const k of keysRead(listFilterOf)) keys.add(k);
  if (name === 'counts') for (const k of keysRead(countFilterOf)) keys.add(k);
  return [...keys];
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1, and served to anyone', async () => {
    const doc = await documentOf(await server());
    const v = new Validator();
    const res = await v.validate(doc as unknown as Record<string, unknown>);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(v.version).toBe('3.1');
    // Its schemas use only what the check of the answers below knows, so none goes unchecked.
    for (const [at, s] of allSchemas(doc)) expect(Object.keys(s).filter((k) => !KEYWORDS.has(k)), at).toEqual([]);
  });

  it('describes every route of ROUTES: method, path and query params, body, answers and errors', async () => {
    const doc = await documentOf(await server());
    const ops = operations(doc);
    // Nothing documented that is not a route.
    expect([...ops.keys()].filter((n) => !(n in routes))).toEqual([]);
    const errorSchema = { $ref: '#/components/schemas/Error' };
    for (const [name, r] of Object.entries(routes)) {
      const found = ops.get(name);
      expect(found, `route ${name} (${r.method} ${r.pattern}) is not in the document`).toBeDefined();
      const { op, method, path: p } = found as Found;
      expect(`${method} ${p}`, name).toBe(`${r.method.toLowerCase()} ${openApiPath(r.pattern)}`);
      const params = op.parameters ?? [];
      const pathParams = [...r.pattern.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect(params.filter((x) => x.in === 'path').map((x) => x.name), `${name}: path params`).toEqual(pathParams);
      for (const x of params.filter((y) => y.in === 'path')) expect(x.required, `${name}: ${x.name}`).toBe(true);
      const query = params.filter((x) => x.in === 'query').map((x) => x.name);
      expect(queryKeysOf(name, r).filter((k) => !query.includes(k)), `${name}: query params not in the document`).toEqual([]);
      if (r.method === 'POST') expect(op.requestBody?.content['application/json']?.schema, `${name}: its body`).toBeDefined();
      if (r.method === 'GET') expect(op.requestBody, `${name}: a GET takes no body`).toBeUndefined();
      const statuses = Object.keys(op.responses).map(Number);
      const ok = statuses.filter((s) => s >= 200 && s < 300);
      expect(ok.length, `${name}: a success answer`).toBeGreaterThan(0);
      for (const s of ok) if (s !== 204) expect(Object.values(op.responses[s]?.content ?? {})[0]?.schema, `${name}: the schema of its ${s}`).toBeDefined();
      for (const s of statuses.filter((x) => ERROR_STATUSES.includes(x))) expect(op.responses[s]?.content?.['application/json']?.schema, `${name}: ${s}`).toEqual(errorSchema);
      const guarded = op['x-drover-tokens'].length > 0;
      const changes = ['POST', 'DELETE'].includes(r.method);
      const must = [500, ...(guarded ? [401, 429] : []), ...(guarded && changes ? [403] : []), ...(changes ? [400, 413, 415] : [])];
      expect(must.filter((s) => !statuses.includes(s)), `${name}: errors every route of its kind can give`).toEqual([]);
    }
    // The codes the Error schema lists are those the coordinator sends.
    const codes = ((doc.components.schemas.Error as { properties: { error: { properties: { code: { enum: string[] } } } } }).properties.error.properties.code.enum);
    expect(codes).toEqual([...ERROR_CODES]);
  });

  it('says what a real coordinator answers: every route, its successes checked against their schemas', async () => {
    const srv = await server();
    const s = new Speaker(srv, await documentOf(srv));
    const A = { token: ADMIN };
    const W = { token: WORKER };
    const has = (name: string) => name in routes;

    expect((await s.call('health')).status).toBe(200);
    expect((await s.call('openapi')).status).toBe(200);
    const reader = (await s.call('createToken', { ...A, body: { name: 'reader', role: 'read', expires: '1d' } })).body as { secret: string };
    await s.call('createToken', { ...A, body: { name: 'w9', role: 'worker', queues: ['default'] } });
    const R = { token: reader.secret };
    expect((await s.call('tokens', A)).status).toBe(200);

    await s.call('enqueue', { ...A, body: { kind: 'noop', params: { echo: 1 }, tags: ['t'], owner: 'me' } });
    expect((await s.call('enqueue', { ...A, query: { return: 'ids' }, body: { jobs: [{ kind: 'noop' }, { kind: 'noop', priority: 5, runAt: Date.now() }] } })).status).toBe(201);
    expect(((await s.call('enqueue', { ...A, query: { dryRun: 'true' }, body: { jobs: [{ kind: 'noop' }] } })).body as { valid: number }).valid).toBe(1);
    const ghost = (await s.call('enqueue', { ...A, body: { template: 'hikload', params: { server: 's', password: 'p' } } })).body as { jobs: Array<{ id: string }>; warnings: string[] };
    expect(ghost.warnings).toHaveLength(1);
    await s.call('list', { ...R, query: { state: 'queued,waiting', limit: '2', order: 'desc' } });
    await s.call('list', { ...R, query: { q: 'noop', kind: 'noop' } });
    await s.call('counts', { ...R, query: { queue: 'default' } });
    await s.call('job', { ...R, params: { id: ghost.jobs[0]!.id } });

    // The worker protocol.
    const worker = { name: 'w1', host: 'h1', kinds: ['noop'], templates: [], slots: 4, running: 0, version: 'test', destinations: ['archive'], node: 'n1', segments: { url: 'http://127.0.0.1:9', channels: ['c1'] } };
    const leased = (await s.call('lease', { ...W, body: { worker, limit: 3, wait: 0 } })).body as { jobs: Array<{ id: string; lease: { token: string } }> };
    expect(leased.jobs).toHaveLength(3);
    const [j1, j2, j3] = leased.jobs as [(typeof leased.jobs)[0], (typeof leased.jobs)[0], (typeof leased.jobs)[0]];
    await s.call('heartbeat', { ...W, body: { worker: { name: 'w1', running: 3 }, jobs: [{ id: j1.id, token: j1.lease.token, progress: { percent: 50, message: 'half' } }, { id: j2.id, token: 'stale' }] } });
    expect((await s.call('appendLogs', { ...W, params: { id: j1.id }, body: { token: j1.lease.token, chunks: [{ stream: 'stdout', text: 'hello\n', ts: Date.now() }] } })).status).toBe(204);
    await s.call('readLogs', { ...R, params: { id: j1.id }, query: { after: '0', limit: '10' } });
    await s.call('waitJob', { ...R, params: { id: j1.id }, query: { since: '0', wait: '0' } });
    await s.call('workers', { ...R, query: { all: 'true' } });
    await s.call('segmentNodes', W);
    await s.call('cancel', { ...A, params: { id: j3.id } });
    expect(((await s.call('stops', { ...W, params: { name: 'w1' }, query: { wait: '0' } })).body as { stops: unknown[] }).stops).toHaveLength(1);
    await s.call('heartbeat', { ...W, body: { worker: { name: 'w1', running: 3, info: worker }, jobs: [{ id: j3.id, token: j3.lease.token, progress: null }] } });
    await s.call('completeOne', { ...W, params: { id: j1.id }, body: { token: j1.lease.token, result: { files: ['a.mp4'] } } });
    await s.call('failOne', { ...W, params: { id: j2.id }, body: { token: j2.lease.token, outcome: 'failed', error: 'boom', retryable: false } });
    await s.call('complete', { ...W, body: { items: [{ id: j3.id, token: j3.lease.token, outcome: 'canceled' }, { id: j1.id, token: 'stale', outcome: 'succeeded' }] } });
    await s.call('retry', { ...A, params: { id: j2.id }, body: {} });
    await s.call('job', { ...R, params: { id: j1.id } });
    await s.call('checkToken', { ...W, body: { token: reader.secret } });
    await s.call('stats', R);
    await s.call('templates', R);
    await s.call('kinds', R);
    await s.call('metrics', W);

    await s.call('putSchedule', { ...A, body: { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', job: { kind: 'noop' } } });
    await s.call('putSchedule', { ...A, body: { name: 'hourly', every: '1h', job: { kind: 'noop' }, paused: true } });
    await s.call('schedules', R);
    await s.call('pauseSchedule', { ...A, params: { name: 'nightly' } });
    await s.call('resumeSchedule', { ...A, params: { name: 'nightly' } });
    expect((await s.call('deleteSchedule', { ...A, params: { name: 'hourly' } })).status).toBe(204);
    await s.call('pauseQueue', { ...A, params: { name: 'default' } });
    await s.call('queues', R);
    await s.call('resumeQueue', { ...A, params: { name: 'default' } });
    await s.call('pruneWorkers', A);
    await s.call('purge', { ...A, body: { before: Date.now() + 60_000, states: ['succeeded'] } });
    await s.call('revokeToken', { ...A, params: { name: 'w9' } });

    // The dashboard's routes (documented ahead of ROUTES: held to the document once ROUTES has them).
    if (has('session')) await s.call('session');
    if (has('signIn')) {
      await s.call('signIn', { body: { token: 'wrong' } });
      await s.call('signIn', { body: { token: WORKER } });
      const signed = await s.call('signIn', { body: { token: ADMIN } });
      const cookie = /drover_session=[^;]+/.exec(signed.headers.get('set-cookie') ?? '')?.[0];
      expect(signed.headers.get('set-cookie')).toMatch(/HttpOnly/i);
      const { csrf } = signed.body as { csrf: string };
      // The cookie in place of a bearer token: a change needs the CSRF header too.
      const session = { headers: { cookie: cookie as string } };
      await s.call('session', session);
      await s.call('queues', session);
      await s.refused('pauseQueue', { ...session, params: { name: 'default' } }, 403, 'forbidden');
      await s.call('pauseQueue', { headers: { ...session.headers, 'x-drover-csrf': csrf }, params: { name: 'default' } });
      await s.call('resumeQueue', { headers: { ...session.headers, 'x-drover-csrf': csrf }, params: { name: 'default' } });
      if (has('signOut')) await s.call('signOut', session);
    }
    if (has('signOut')) await s.call('signOut');
    if (has('bulk')) await s.call('bulk', { ...A, body: { action: 'cancel', ids: [ghost.jobs[0]!.id] } });
    if (has('bulk')) await s.call('bulk', { ...A, body: { action: 'retry', filter: { state: ['canceled'], queue: 'default' } } });
    if (has('importJobs')) {
      const b64 = (t: string) => Buffer.from(t).toString('base64');
      const table = { format: 'csv', name: 'cams.csv', template: 'hikload', data: b64('server,password\ns1,p1\ns2,p2\n'), defaults: { queue: 'default', tags: ['cams'], priority: 1 } };
      expect((await s.call('importJobs', { ...A, query: { dryRun: 'true' }, body: table })).status).toBe(200);
      expect((await s.call('importJobs', { ...A, body: table })).status).toBe(201);
      expect((await s.call('importJobs', { ...A, body: { format: 'jsonl', kind: 'noop', data: b64('{"echo": 1}\n{"colour": "red"}\n') } })).status).toBe(422);
    }
    if (has('finished')) await s.call('finished', { ...R, query: { window: 'day' } });
    if (has('events')) {
      const listening = s.call('events', { ...R, query: { types: 'job' }, stream: 'first-event' });
      await waitFor(() => srv.coordinator.events.listening, 5_000, 'a listener');
      await s.call('enqueue', { ...A, body: { kind: 'noop' } });
      const ev = await listening;
      const data = /^data: ?(.*)$/m.exec(ev.text)?.[1];
      expect(data, `an event: ${ev.text}`).toBeDefined();
      expect(problems(s.doc, { $ref: '#/components/schemas/JobEvent' }, JSON.parse(data as string))).toEqual([]);
    }

    // Every route answered a success.
    const unanswered = Object.keys(routes).filter((n) => ![...(s.seen.get(n) ?? [])].some((st) => st < 300));
    expect(unanswered, 'routes with no success above: give each a call').toEqual([]);
  });

  it("answers errors with the Error schema, at a status the route's document lists", async () => {
    const srv = await server({ maxBodyBytes: 10_000 });
    const s = new Speaker(srv, await documentOf(srv));
    const A = { token: ADMIN };
    const W = { token: WORKER };
    const reader = (await s.call('createToken', { ...A, body: { name: 'reader', role: 'read' } })).body as { secret: string };
    const w9 = (await s.call('createToken', { ...A, body: { name: 'w9', role: 'worker', queues: ['q9'] } })).body as { secret: string };

    // Bad input: a query value, a field, a body that is not JSON, one of another type, one too large.
    expect((await s.refused('list', { ...A, query: { limit: '0' } }, 400, 'invalid')).body).toMatchObject({ error: { field: 'limit' } });
    await s.refused('list', { ...A, query: { state: 'sleeping' } }, 400, 'invalid');
    await s.refused('counts', { ...A, query: { since: '-1' } }, 400, 'invalid');
    await s.refused('readLogs', { ...A, query: { after: 'x' } }, 400, 'invalid');
    await s.refused('enqueue', { ...A, body: { kind: 'noop', priority: 1.5 } }, 400, 'invalid');
    await s.refused('enqueue', { ...A, raw: '{"kind": "noop"' }, 400, 'bad_request');
    await s.refused('cancel', { ...A, raw: '{' }, 400, 'bad_request');
    await s.refused('lease', { ...W, body: { worker: { name: 'bad name' } } }, 400, 'invalid');
    await s.refused('enqueue', { ...A, raw: '<job/>', contentType: 'application/xml' }, 415, 'unsupported_media_type');
    await s.refused('enqueue', { ...A, body: { kind: 'noop', params: { big: 'x'.repeat(20_000) } } }, 413, 'too_large');

    // Not found, and conflicts with the state.
    await s.refused('job', { ...A, params: { id: 'nope' } }, 404, 'not_found');
    await s.refused('cancel', { ...A, params: { id: 'nope' } }, 404, 'not_found');
    await s.refused('waitJob', { ...A, params: { id: 'nope' }, query: { wait: '0' } }, 404, 'not_found');
    await s.refused('appendLogs', { ...W, params: { id: 'nope' }, body: { token: 't', chunks: [] } }, 404, 'not_found');
    await s.refused('deleteSchedule', { ...A, params: { name: 'nope' } }, 404, 'not_found');
    await s.refused('revokeToken', { ...A, params: { name: 'nope' } }, 404, 'not_found');
    const { jobs } = (await s.call('enqueue', { ...A, body: { kind: 'noop' } })).body as { jobs: Array<{ id: string }> };
    await s.refused('retry', { ...A, params: { id: jobs[0]!.id } }, 409, 'conflict');
    await s.call('cancel', { ...A, params: { id: jobs[0]!.id } });
    await s.refused('cancel', { ...A, params: { id: jobs[0]!.id } }, 409, 'conflict');
    await s.refused('completeOne', { ...W, params: { id: jobs[0]!.id }, body: { token: 'stale' } }, 409, 'conflict');
    await s.refused('completeOne', { ...W, params: { id: 'nope' }, body: { token: 'stale' } }, 409, 'conflict');
    await s.refused('createToken', { ...A, body: { name: 'reader', role: 'read' } }, 409, 'conflict');

    // Tokens: none, a worker's or a read token where an admin's is needed, a worker token as another worker.
    const none = await s.refused('list', {}, 401, 'unauthorized');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    await s.refused('enqueue', { ...W, body: { kind: 'noop' } }, 401, 'unauthorized');
    await s.refused('list', W, 401, 'unauthorized');
    await s.refused('cancel', { token: reader.secret, params: { id: jobs[0]!.id } }, 401, 'unauthorized');
    await s.refused('tokens', { token: reader.secret }, 401, 'unauthorized');
    await s.refused('lease', { token: w9.secret, body: { worker: { name: 'w1' }, wait: 0 } }, 403, 'forbidden');
    await s.refused('lease', { token: w9.secret, body: { worker: { name: 'w9' }, queues: ['other'], wait: 0 } }, 403, 'forbidden');
    await s.refused('stops', { token: w9.secret, params: { name: 'w1' }, query: { wait: '0' } }, 403, 'forbidden');
    await s.refused('pauseSchedule', { ...A, params: { name: 'nope' } }, 404, 'not_found');
    if ('signIn' in routes) {
      await s.refused('signIn', { body: { token: 'wrong' } }, 401, 'unauthorized');
      await s.refused('signIn', { body: { token: WORKER } }, 403, 'forbidden');
    }
  });

  it('refuses too many failed authentications with 429 and the Error schema', async () => {
    const srv = await server({ authLimits: { maxFailures: 2, windowMs: 60_000, blockMs: 60_000 } });
    const s = new Speaker(srv, await documentOf(srv));
    await s.refused('list', { token: 'wrong-1' }, 401, 'unauthorized');
    await s.refused('list', { token: 'wrong-2' }, 401, 'unauthorized');
    const blocked = await s.refused('lease', { token: WORKER, body: { worker: { name: 'w1' }, wait: 0 } }, 429, 'rate_limited');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('lets in the tokens x-drover-tokens lists, and refuses the others with 401', async () => {
    const srv = await server();
    const s = new Speaker(srv, await documentOf(srv));
    const reader = (await s.call('createToken', { token: ADMIN, body: { name: 'reader', role: 'read' } })).body as { secret: string };
    const tokens = { none: undefined, worker: WORKER, read: reader.secret };
    for (const name of Object.keys(routes)) {
      const { op } = s.op(name);
      const allowed = op['x-drover-tokens'];
      const hasWait = (op.parameters ?? []).some((p) => p.name === 'wait' && p.in === 'query');
      for (const [who, token] of Object.entries(tokens)) {
        // Without a body: a route that lets the token in refuses the missing body (400), or answers.
        const a = await s.call(name, { ...(token ? { token } : {}), ...(hasWait ? { query: { wait: '0' } } : {}), ...(name === 'events' ? { stream: 'headers' as const } : {}) });
        const may = allowed.length === 0 || (who !== 'none' && allowed.includes(who));
        expect(a.status === 401, `${name} with ${who === 'none' ? 'no token' : `a ${who} token`}: ${a.status} ${a.text.slice(0, 120)}`).toBe(!may);
      }
    }
  });
});
