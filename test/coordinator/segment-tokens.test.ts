import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import { DroverClient } from '../../src/client/drover-client.js';
import { startServer } from '../../src/coordinator/server.js';
import { silentLogger } from '../../src/core/logger.js';
import type { CreatedTokenAnswer } from '../../src/protocol/token-messages.js';
import { startSegmentServer } from '../../src/segments/server.js';
import { writeSegment } from '../segments/tree-fixture.js';
import { tempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("a worker's segment server and fellow workers' own tokens", () => {
  it('takes a fellow worker\'s token the coordinator takes, refuses a read token, a stranger and a revoked one', async () => {
    const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: 'admin-file-token-0123456789', worker: 'worker-file-token-0123456789' }, templates: [], logger: silentLogger() });
    cleanups.push(() => srv.close());
    const admin = new ApiClient({ servers: srv.url, token: 'admin-file-token-0123456789' });
    cleanups.push(() => admin.close());
    const make = (name: string, role: string) => admin.post<CreatedTokenAnswer>('/api/v1/tokens', { name, role }).then((t) => t.secret);
    const [a, b, grafana] = [await make('node-a', 'worker'), await make('node-b', 'worker'), await make('grafana', 'read')];

    // Node a's segment server, asking the coordinator with node a's own token; no cache, so a revocation shows at once.
    const tree = path.join(tempDir(), 'tree');
    writeSegment(tree, 'desertbus', 'source', '2019-11-13T01', '00:00.000000', 'seg');
    const asker = new DroverClient({ server: srv.url, token: a });
    cleanups.push(() => asker.close());
    const seg = await startSegmentServer({ dir: tree, port: 0, logger: silentLogger(), tokens: { admin: null, worker: a }, verify: (t) => asker.checkToken(t), verifyCacheMs: 0 });
    cleanups.push(() => seg.close());
    const get = async (token: string) => (await fetch(`${seg.url}/files/desertbus/source`, { headers: { authorization: `Bearer ${token}` } })).status;

    expect(await get(a)).toBe(200);
    expect(await get(b)).toBe(200);
    expect(await get(grafana)).toBe(401);
    expect(await get('drv_not-a-token-at-all-00000000000000000000000')).toBe(401);
    await admin.delete('/api/v1/tokens/node-b');
    expect(await get(b)).toBe(401);
    // Only workers ask: a read token cannot use the check as an oracle.
    const reader = new ApiClient({ servers: srv.url, token: grafana });
    cleanups.push(() => reader.close());
    await expect(reader.post('/api/v1/tokens/check', { token: a })).rejects.toMatchObject({ status: 401 });
  });
});
