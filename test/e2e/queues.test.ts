import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer } from '../support/drover.js';
import { tempDir } from '../support/tmp.js';

describe('drover queue pause and resume', () => {
  it('leases nothing of a paused queue (and says why its jobs wait) while other queues run; resumed, its jobs run', async () => {
    const dir = tempDir('drover-queues-');
    const srv = await startServer(dir);
    spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir });
    const cli = (...args: string[]) => runDrover([...args, '--server', srv.url], { cwd: dir, timeoutMs: 60_000 });
    expect((await cli('queue', 'pause', 'nvr')).stdout).toMatch(/^queue nvr: paused .*ago; no jobs\n$/);
    const held = await cli('add', 'noop', '--queue', 'nvr', '--param', 'echo=held');
    expect(held.stderr).toContain('queue nvr is paused (drover queue resume nvr)');
    const id = held.stdout.trim().split(/\s+/)[0] as string;
    // Another queue runs meanwhile: the worker is there and leasing.
    expect((await cli('add', 'noop', '--param', 'echo=other', '--wait')).code).toBe(0);
    expect((await cli('show', id)).stdout).toMatch(/state:\s+queued/);
    const list = await cli('queue', 'list');
    expect(list.stdout).toMatch(/nvr\s+paused .*ago\s+queued 1/);
    expect(list.stdout).toMatch(/default\s+running\s+succeeded 1/);
    expect((await cli('queue', 'resume', 'nvr')).stdout).toMatch(/^queue nvr: running; /);
    expect((await cli('wait', '--quiet')).code).toBe(0);
    expect((await cli('show', id)).stdout).toMatch(/state:\s+succeeded/);
    expect((await cli('queue', 'pause', 'no good')).stderr).toMatch(/name: a queue name is letters, digits and _ \. : @ - only/);
  });
});
