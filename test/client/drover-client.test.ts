import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import { onCleanup } from '../support/tmp.js';

/** A coordinator from before `GET /jobs/{id}/wait`: it knows the job, and no such route. */
async function olderCoordinator(states: string[]): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    const path = (req.url ?? '').split('?')[0];
    if (path === '/api/v1/jobs/j1') {
      const state = states[Math.min(n++, states.length - 1)];
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ job: { id: 'j1', state, updatedAt: n, progress: null }, attempts: [] }));
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: `no route GET ${path}` } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

describe('DroverClient.wait', () => {
  it('falls back to looking at the job when the coordinator has no wait route, and sees every change', async () => {
    const old = await olderCoordinator(['queued', 'running', 'succeeded']);
    const drover = new DroverClient({ server: old.url });
    onCleanup(() => drover.close());
    const seen: string[] = [];
    const job = await drover.wait('j1', { onChange: (j) => seen.push(j.state) });
    expect(job.state).toBe('succeeded');
    expect(seen).toEqual(['queued', 'running', 'succeeded']);
    expect(old.asked[0]).toMatch(/^\/api\/v1\/jobs\/j1\/wait\?since=0&wait=\d+$/);
    expect(old.asked.filter((u) => u.includes('/wait'))).toHaveLength(1);
  });

  it('with timeoutMs 0, looks once and then gives up, naming the job', async () => {
    const old = await olderCoordinator(['running']);
    const drover = new DroverClient({ server: old.url });
    onCleanup(() => drover.close());
    await expect(drover.wait('j1', { timeoutMs: 0 })).rejects.toThrow(/job j1 did not finish within 0 ms/);
    expect(old.asked.some((u) => u === '/api/v1/jobs/j1')).toBe(true);
  });
});
