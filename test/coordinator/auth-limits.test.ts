import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import { FailureLimiter } from '../../src/coordinator/auth-limiter.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { ManualClock } from '../../src/core/clock.js';
import type { CreatedTokenAnswer } from '../../src/protocol/token-messages.js';
import { tempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ADMIN = 'admin-file-token-0123456789';

/** A coordinator whose log lines are kept: as written in `raw`, parsed by `lines()`. */
async function server(clock: ManualClock): Promise<{ srv: RunningServer; lines: () => Array<Record<string, unknown>>; raw: string[] }> {
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void raw.push(l) });
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: ADMIN, worker: null }, templates: [], logger, clock, tickMs: 3_600_000 });
  cleanups.push(() => srv.close());
  return { srv, raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function status(srv: RunningServer, token: string | undefined, route = '/api/v1/jobs'): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const res = await fetch(srv.url + route, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

describe('failed authentications', () => {
  it('after 10 failures within a minute from one address, answers it 429 with Retry-After for a minute, even with a right token', async () => {
    const clock = new ManualClock();
    const { srv } = await server(clock);
    // Requests without a token are no guesses: they are not counted.
    for (let i = 0; i < 12; i++) expect((await status(srv, undefined)).status).toBe(401);
    for (let i = 0; i < 9; i++) {
      clock.advance(1_000);
      expect((await status(srv, `wrong-${i}`)).status).toBe(401);
    }
    expect((await status(srv, ADMIN)).status).toBe(200);
    // The 10th failure blocks the address.
    expect((await status(srv, 'wrong-9')).status).toBe(401);
    const blocked = await status(srv, ADMIN);
    expect(blocked).toMatchObject({ status: 429, retryAfter: '60' });
    expect(JSON.parse(blocked.body)).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/^too many failed authentications from 127\.0\.0\.1; try again in 60 s$/) } });
    clock.advance(30_000);
    expect(await status(srv, 'wrong-10')).toMatchObject({ status: 429, retryAfter: '30' });
    // Public routes stay open meanwhile.
    expect((await status(srv, undefined, '/healthz')).status).toBe(200);
    clock.advance(30_000);
    expect((await status(srv, ADMIN)).status).toBe(200);
    expect((await status(srv, 'wrong-11')).status).toBe(401);
  });

  it('counts failures within the window only', async () => {
    const clock = new ManualClock();
    const { srv } = await server(clock);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 9; i++) expect((await status(srv, 'wrong')).status).toBe(401);
      clock.advance(60_000);
    }
    expect((await status(srv, ADMIN)).status).toBe(200);
  });

  it('logs the address, the route and at most the id of a store token, never the token', async () => {
    const clock = new ManualClock();
    const { srv, raw, lines } = await server(clock);
    const api = new ApiClient({ servers: srv.url, token: ADMIN });
    cleanups.push(() => api.close());
    const made = await api.post<CreatedTokenAnswer>('/api/v1/tokens', { name: 'nvr-berlin', role: 'worker' });
    // Its id with another secret part: found by id, refused by its hash.
    const forged = made.secret.slice(0, 14) + 'A'.repeat(made.secret.length - 14);
    const plain = 'not-a-store-token-but-secret-all-the-same';
    expect((await status(srv, forged, '/api/v1/jobs/0123456789abcdef?x=1')).status).toBe(401);
    expect((await status(srv, plain)).status).toBe(401);
    await api.delete('/api/v1/tokens/nvr-berlin');
    expect((await status(srv, made.secret, '/api/v1/stats')).status).toBe(401);
    const failures = lines().filter((l) => l.msg === 'authentication failed');
    expect(failures.map((l) => [l.address, l.method, l.route, l.token])).toEqual([
      ['127.0.0.1', 'GET', '/api/v1/jobs/:id', made.token.id],
      ['127.0.0.1', 'GET', '/api/v1/jobs', undefined],
      ['127.0.0.1', 'GET', '/api/v1/stats', made.token.id],
    ]);
    const all = raw.join('');
    for (const secret of [made.secret, forged, plain, ADMIN]) expect(all).not.toContain(secret);
    // The revoked token's id is as far as the log goes.
    expect(all).not.toContain(made.secret.slice(0, 20));
  });
});

describe('FailureLimiter', () => {
  it('blocks after maxFailures within the window, for blockMs, then counts afresh', () => {
    const clock = new ManualClock();
    const l = new FailureLimiter(clock, { maxFailures: 3, windowMs: 10_000, blockMs: 5_000 });
    expect([l.fail('a'), l.fail('a')]).toEqual([false, false]);
    expect(l.fail('b')).toBe(false);
    clock.advance(10_000);
    // The first two fell out of the window.
    expect(l.fail('a')).toBe(false);
    expect(l.blockedFor('a')).toBe(0);
    expect([l.fail('a'), l.fail('a')]).toEqual([false, true]);
    expect(l.blockedFor('a')).toBe(5_000);
    expect(l.blockedFor('b')).toBe(0);
    clock.advance(4_999);
    expect(l.blockedFor('a')).toBe(1);
    clock.advance(1);
    expect(l.blockedFor('a')).toBe(0);
    expect(l.fail('a')).toBe(false);
  });

  it('remembers a bounded number of addresses, forgetting the least recent first', () => {
    const clock = new ManualClock();
    const l = new FailureLimiter(clock, { maxFailures: 2, windowMs: 60_000, blockMs: 60_000 });
    l.fail('first');
    l.fail('first');
    expect(l.blockedFor('first')).toBe(60_000);
    for (let i = 0; i < 10_001; i++) l.fail(`10.0.${i >> 8}.${i & 255}`);
    // A blocked address outlives the flood of others.
    expect(l.blockedFor('first')).toBe(60_000);
  });
});
