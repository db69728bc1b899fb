import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { ApiClient, ApiError } from '../../src/client/api-client.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { hashAccessToken } from '../../src/coordinator/access-tokens.js';
import { ManualClock } from '../../src/core/clock.js';
import type { LeasedJob } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { tempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ADMIN = 'admin-file-token-0123456789';

async function setup(): Promise<{ srv: RunningServer; clock: ManualClock; drover: (...args: string[]) => Promise<string> }> {
  const dir = tempDir();
  const tokenFile = path.join(dir, 'tokens.yaml');
  fs.writeFileSync(tokenFile, `admin: ${ADMIN}\nworker: worker-file-token-0123456789\n`, { mode: 0o600 });
  const config = path.join(dir, 'drover.yaml');
  fs.writeFileSync(config, '');
  const clock = new ManualClock(Date.now());
  const srv = await startServer({ port: 0, dataDir: path.join(dir, 'data'), tokens: { admin: ADMIN, worker: 'worker-file-token-0123456789' }, templates: [], logger: silentLogger(), clock, tickMs: 3_600_000 });
  cleanups.push(() => srv.close());
  /** Runs `drover ARGS` in this process against the coordinator, with the token file's admin token; its stdout. */
  const drover = async (...args: string[]): Promise<string> => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await (await buildProgram()).parseAsync([...args, '--server', srv.url, '--token-file', tokenFile, '--config', config], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    return out;
  };
  return { srv, clock, drover };
}

describe('drover token', () => {
  it('add prints the new token once, last on its line; list shows names, roles, queues, expiry and last use, never a token; revoke gives jobs back', async () => {
    const { srv, clock, drover } = await setup();
    const added = await drover('token', 'add', 'worker', 'nvr-berlin', '--queues', 'berlin,munich', '--expires', '90d');
    const m = /^worker token nvr-berlin \(queues berlin, munich; expires (\S+)\); shown only now, keep it: (drv_[A-Za-z0-9_-]{43})\n$/.exec(added);
    expect(m, added).not.toBeNull();
    const secret = m![2] as string;
    expect(Date.parse(m![1] as string)).toBe(Math.floor((clock.now() + 90 * 86_400_000) / 1000) * 1000);
    expect(added.trim().split(' ').pop()).toBe(secret);
    expect(await drover('token', 'add', 'read', 'grafana')).toMatch(/^read token grafana \(never expires\); shown only now, keep it: drv_\S+\n$/);

    // Used once, by its worker.
    const worker = new ApiClient({ servers: srv.url, token: secret });
    cleanups.push(() => worker.close());
    await srv.coordinator.enqueue([{ kind: 'noop', queue: 'berlin' }]);
    const { jobs } = await worker.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker: { name: 'nvr-berlin', kinds: ['noop'] }, limit: 1, wait: 0 });
    expect(jobs).toHaveLength(1);

    const list = await drover('token', 'list');
    const [header, ...rows] = list.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+ROLE\s+QUEUES\s+EXPIRES\s+LAST USED\s+ID\s+CREATED$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^grafana\s+read\s+never\s+never\s+drv_\S{10}…/);
    expect(rows[1]).toMatch(new RegExp(`^nvr-berlin\\s+worker\\s+berlin,munich\\s+${m![1]}\\s+\\S+ ago\\s+${secret.slice(0, 14)}…`));
    const json = await drover('token', 'list', '--json');
    for (const out of [list, json]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(hashAccessToken(secret));
    }
    expect(JSON.parse(json)).toMatchObject([{ name: 'grafana', role: 'read', queues: [], expiresAt: null, lastUsedAt: null }, { name: 'nvr-berlin', role: 'worker', queues: ['berlin', 'munich'], lastUsedAt: clock.now() }]);

    expect(await drover('token', 'revoke', 'nvr-berlin')).toBe('revoked worker token nvr-berlin; 1 running job went back to the queue\n');
    expect(await drover('token', 'revoke', 'grafana')).toBe('revoked read token grafana\n');
    expect(await drover('token', 'list')).toMatch(/^no tokens in the store/);
    const err = await worker.post('/api/v1/lease', { worker: { name: 'nvr-berlin', kinds: ['noop'] }, limit: 1, wait: 0 }).catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(401);
  });

  it('says what is wrong with the role or the queues before asking the coordinator', async () => {
    const { drover } = await setup();
    await expect(drover('token', 'add', 'root', 'x')).rejects.toThrow(/the role is worker, admin or read, got "root"/);
    await expect(drover('token', 'add', 'admin', 'ops', '--queues', 'a')).rejects.toThrow(/--queues: only a worker token/);
    await expect(drover('token', 'add', 'worker', 'w', '--expires', 'forever')).rejects.toThrow(/expires: "forever" is not a duration/);
    await expect(drover('token', 'revoke', 'nobody')).rejects.toThrow(/no token nobody/);
  });
});
