import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/protocol/routes.js';
import { fuzzRoutes, startFuzzTarget, type FuzzTarget } from '../support/route-fuzz.js';
import { problemOf, type RouteSpec, type Wire } from '../support/route-fuzz-checks.js';
import { tempDir } from '../support/tmp.js';

/**
 * Every route of the API fuzzed over real HTTP (issue 17; test/support/route-fuzz.ts): malformed
 * paths, queries and bodies, with every kind of token or none. No answer is a 5xx or missing, the
 * coordinator keeps answering /healthz, every error is the documented shape with a code of
 * ERROR_CODES, a 400 names its field, and tokens are checked as the document says.
 * `npm run chaos -- --scenarios fuzz` sends more than 10,000 such requests.
 */

let target: FuzzTarget | null = null;
afterEach(async () => {
  await target?.close();
  target = null;
});

describe('the API under fuzzed requests', () => {
  it('answers every route with a documented answer, never a 5xx', async () => {
    target = await startFuzzTarget(path.join(tempDir(), 'data'));
    const stats = await fuzzRoutes(target, { runsPerRoute: 20 });
    // fast-check's report of each broken property: the shrunk request and the answer it got.
    expect(stats.failures.map((f) => f.report)).toEqual([]);
    // Every route was sent to, a route added to ROUTES too.
    for (const name of Object.keys(ROUTES)) expect(Object.values(stats.byRoute[name] ?? {}).reduce((a, b) => a + b, 0), name).toBeGreaterThanOrEqual(20);
    expect(stats.byStatus['no answer']).toBeUndefined();
    expect(Object.keys(stats.byStatus).some((s) => Number(s) >= 500)).toBe(false);
  }, 120_000);

  it('takes a name of 128 characters in a path; a longer segment or a broken encoding is a 414 or 400 of the documented shape', async () => {
    target = await startFuzzTarget(path.join(tempDir(), 'data'));
    const get = async (p: string) => {
      const res = await fetch(`${target!.url}${p}`, { headers: { authorization: 'Bearer fuzz-worker-token-0123456789' } });
      return [res.status, await res.json()];
    };
    // Fastify's router takes 100 characters by default: such a worker could not hear its stops.
    const name = `w:${'a'.repeat(124)}@x`;
    expect(await get(ROUTES.stops.path(name, 0))).toEqual([200, { stops: [] }]);
    expect(await get(`/api/v1/workers/${'a'.repeat(513)}/stops`)).toEqual([414, { error: { code: 'too_large', message: 'path: a segment longer than 512 characters' } }]);
    expect(await get('/api/v1/workers/%zz/stops')).toEqual([400, { error: { code: 'bad_request', message: expect.stringMatching(/^path: not valid percent-encoding/) } }]);
  });

  it('can fail: each property catches the answer it is about', () => {
    const spec: RouteSpec = { name: 'cancel', method: 'POST', pattern: '/api/v1/jobs/:id/cancel', params: ['id'], query: {}, tokens: ['admin'], responses: { '200': false, '400': true, '401': true, '404': true }, headers: [], bodyFields: [] };
    const w = (auth: Wire['auth'], body = '{}'): Wire => ({ method: 'POST', path: '/api/v1/jobs/x/cancel', headers: {}, payload: Buffer.from(body), auth });
    const json = (status: number, body: unknown) => ({ status, type: 'application/json; charset=utf-8', text: JSON.stringify(body), ms: 1 });
    const error = (status: number, code: string, more: object = {}) => json(status, { error: { code, message: 'x: wrong', ...more } });
    expect(problemOf(spec, w('admin'), error(404, 'not_found'))).toBeNull();
    expect(problemOf(spec, w('admin'), error(400, 'invalid', { field: 'body' }))).toBeNull();
    expect(problemOf(spec, w('admin'), error(500, 'internal'))).toMatch(/answered 500/);
    expect(problemOf(spec, w('admin'), { error: 'socket hang up' })).toMatch(/no answer/);
    expect(problemOf(spec, w('admin'), json(400, { error: 'Bad Request', statusCode: 400 }))).toMatch(/not shaped/);
    expect(problemOf(spec, w('admin'), error(400, 'oops'))).toMatch(/not one of ERROR_CODES/);
    expect(problemOf(spec, w('admin'), error(404, 'conflict'))).toMatch(/code conflict with status 404/);
    expect(problemOf(spec, w('admin'), error(400, 'invalid'))).toMatch(/without the field/);
    expect(problemOf(spec, w('admin'), error(400, 'invalid', { field: 'elsewhere' }))).toMatch(/none of the request's/);
    expect(problemOf(spec, w('admin'), error(409, 'conflict'))).toMatch(/not in the OpenAPI document/);
    expect(problemOf(spec, w('worker'), json(200, { job: {} }))).toMatch(/a worker token .* expected 401/);
    expect(problemOf(spec, w('none'), error(404, 'not_found'))).toMatch(/no token .* expected 401/);
    expect(problemOf(spec, w('admin'), error(401, 'unauthorized'))).toMatch(/admin token was refused/);
  });
});
