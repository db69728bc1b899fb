import { describe, expect, it } from 'vitest';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { runDrover, startServer, writeConfig } from '../support/drover.js';
import { tempDir } from '../support/tmp.js';

/** A worker of our own over the wire: leases and reports as a worker does. */
function handWorker(url: string) {
  const post = async <T>(route: string, body: unknown): Promise<T> => {
    const res = await fetch(`${url}/api/v1${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    post,
    lease: async (limit: number) => (await post<{ jobs: LeasedJob[] }>('/lease', { worker: { name: 'hand', kinds: ['noop'], templates: [] }, limit })).jobs,
    succeed: (j: LeasedJob, children?: unknown[]) => post('/complete', { items: [{ id: j.id, token: j.lease.token, outcome: 'succeeded', ...(children ? { children } : {}) }] }),
    fail: (j: LeasedJob, error: string) => post('/complete', { items: [{ id: j.id, token: j.lease.token, outcome: 'failed', retryable: false, error }] }),
  };
}

describe('drover show of a job tree', () => {
  it('shows children and grandchildren indented, each with its state and the params that tell it from its siblings', async () => {
    const dir = tempDir('drover-tree-');
    writeConfig(dir, 'server: {}\n');
    const srv = await startServer(dir);
    const w = handWorker(srv.url);
    const [root] = (await w.post<{ jobs: Job[] }>('/jobs', { kind: 'noop', params: { echo: 'root' } })).jobs;
    await w.succeed((await w.lease(1))[0]!, [{ kind: 'noop', params: { echo: 'a' } }, { kind: 'noop', params: { echo: 'b' } }]);
    const kids = await w.lease(2);
    const a = kids.find((k) => k.params.echo === 'a')!;
    const b = kids.find((k) => k.params.echo === 'b')!;
    await w.succeed(a, [{ kind: 'noop', params: { echo: 'a1' } }, { kind: 'noop', params: { echo: 'a2' } }]);
    await w.succeed(b);
    const grand = await w.lease(2);
    await w.succeed(grand.find((g) => g.params.echo === 'a1')!);
    await w.fail(grand.find((g) => g.params.echo === 'a2')!, 'camera offline\nsecond line');

    const show = await runDrover(['show', root!.id, '--server', srv.url], { cwd: dir });
    expect(show.code, show.stderr).toBe(0);
    const tree = show.stdout.slice(show.stdout.indexOf('children:'));
    const [a1, a2] = ['a1', 'a2'].map((e) => grand.find((g) => g.params.echo === e)!.id);
    expect(tree).toBe(
      [
        'children:',
        `  ${a.id}  failed  noop  echo=a: 1 of 2 children did not succeed: ${a2} failed (camera offline)`,
        `    ${a1}  succeeded  noop  echo=a1`,
        `    ${a2}  failed  noop  echo=a2: camera offline`,
        `  ${b.id}  succeeded  noop  echo=b`,
        '',
      ].join('\n'),
    );
    expect(show.stdout).toMatch(/state:\s+failed/);
  });
});
