import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../src/client/api-client.js';
import { parseConfig } from '../../src/config/config.js';
import { startServer } from '../../src/coordinator/server.js';
import type { LeasedJob } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { planCommand } from '../../src/runners/shared/command-plan.js';
import { tempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const yaml = `
templates:
  touch:
    argv: [touch, "{outdir}/{name}"]
  fetch:
    argv: [ffmpeg, -i, "rtsp://{user}:{password}@{host}/Streaming/101", "--server={server}", "clips/{sub}/out.mp4"]
    secrets: [password]
    params:
      sub: { type: path }
  inside:
    argv: [ls]
    cwd: "{dir}"
`;

describe('template params used in file paths', () => {
  it('are file names unless declared: a placeholder next to a / (not in a URL) or in cwd is of type name', () => {
    const { templates } = parseConfig(yaml);
    expect(templates.get('touch')!.params).toEqual({ name: { type: 'name' } });
    // A URL's parts and a flag's value are plain strings; a declared type stays.
    expect(templates.get('fetch')!.params).toEqual({ sub: { type: 'path' } });
    expect(templates.get('inside')!.params).toEqual({ dir: { type: 'name' } });
  });

  it("are refused at enqueue when they would climb out ([touch, \"{outdir}/{name}\"] with name=../../../x)", async () => {
    const { templates } = parseConfig(yaml);
    const srv = await startServer({ port: 0, dataDir: path.join(tempDir(), 'data'), tokens: { admin: null, worker: null }, templates: templates.values(), logger: silentLogger() });
    cleanups.push(() => srv.close());
    const api = new ApiClient({ servers: srv.url });
    cleanups.push(() => api.close());
    const refused = async (params: object, template = 'touch') => ((await api.post('/api/v1/jobs', { template, params }).then(() => null, (e: unknown) => e)) as ApiError | null)?.message;
    expect(await refused({ name: '../../../x' })).toBe('params.name: must be a file name (no / or \\, not . or .., no control characters), got "../../../x"');
    expect(await refused({ name: '..' })).toMatch(/^params\.name: must be a file name/);
    expect(await refused({ user: 'u', password: 'p/w', host: 'h', server: 's', sub: '../up' }, 'fetch')).toBe('params.sub: must be a relative path without .. parts, got "../up"');
    expect(await refused({ user: 'u', password: 'p/w', host: 'h', server: 's', sub: '/etc' }, 'fetch')).toMatch(/^params\.sub: must be a relative path, not an absolute one/);
    // A password with a / in a URL, and a nested path where a path is declared, are fine.
    expect(await refused({ user: 'u', password: 'p/w', host: 'h', server: 's', sub: 'a/b' }, 'fetch')).toBeUndefined();
    expect(await refused({ name: 'clip 1.mp4' })).toBeUndefined();
  });

  it('are refused on the worker too, against its own template, whatever the coordinator knew', () => {
    const { templates } = parseConfig(yaml);
    const job = { id: 'j1', queue: 'default', owner: null, attempt: 1, params: { name: '../../../x' } } as unknown as LeasedJob;
    expect(() => planCommand(job, templates.get('touch')!, tempDir())).toThrow('params.name: must be a file name');
    const ok = planCommand({ ...job, params: { name: 'x.txt' } }, templates.get('touch')!, '/srv/out');
    expect(ok.argv).toEqual(['touch', '/srv/out/touch_j1/x.txt']);
  });
});
