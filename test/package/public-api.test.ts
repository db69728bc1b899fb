import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnDrover } from '../support/drover.js';
import { tempDir, waitFor } from '../support/tmp.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** What a user's project would hold: its own package.json and tsconfig, drover in node_modules. */
function userProject(source: string): string {
  const dir = tempDir('drover-user-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'drover'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-tool', private: true, type: 'module' }));
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')] }, include: ['main.ts'] }),
  );
  fs.writeFileSync(path.join(dir, 'main.ts'), source);
  return dir;
}

describe('the package as another project uses it', () => {
  it("typechecks and runs `import { DroverClient } from 'drover'`: enqueue from code, wait for the result, errors as ApiError", async () => {
    const dir = userProject(`import { ApiError, DroverClient, type Job, type JobSpec } from 'drover';

const drover = new DroverClient({ server: process.argv[2] });
const spec: JobSpec = { kind: 'noop', params: { echo: 'from code' }, owner: 'me' };
const job = await drover.enqueue(spec);
const seen: string[] = [];
const done: Job = await drover.wait(job.id, { timeoutMs: 30_000, onChange: (j) => seen.push(j.state) });
let refused = '';
try {
  await drover.enqueue({ kind: 'download', params: { url: 'ftp://example.com/a', dest: 'archive' } });
} catch (err) {
  if (err instanceof ApiError) refused = \`\${err.status} \${err.field}\`;
}
const counts = await drover.counts({ owner: 'me' });
console.log(JSON.stringify({ state: done.state, result: done.result, seen: seen.at(-1), refused, succeeded: counts.succeeded }));
await drover.close();
`);
    // The user's compiler reads Drover's shipped typings through package.json's exports.
    execFileSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
    const up = spawnDrover(['up', '--port', '0', '--concurrency', '1'], { cwd: tempDir('drover-up-') });
    const url = await waitFor(() => /coordinator on (http:\/\/[^\s"]+)/.exec(up.output())?.[1], 15_000, 'drover up');
    const out = execFileSync(process.execPath, [path.join(dir, 'out', 'main.js'), url], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ state: 'succeeded', result: { echo: 'from code' }, seen: 'succeeded', refused: '400 params.url', succeeded: 1 });
  });

  it('ships the library with its typings and without the benchmarks or the tests', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>;
    const files = pack!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/drover.js', 'dist/index.js', 'dist/index.d.ts', 'dist/client/drover-client.d.ts', 'deploy/systemd/drover-worker.service', 'deploy/systemd/worker.env']));
    expect(files.filter((f) => /^(bench|test|src|build)\//.test(f) || f.startsWith('dist/bench'))).toEqual([]);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
  });

  it('bundles fastify with dependencies that all run on this Node, so `npm install -g` warns of no engine', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }>; bundled: string[] }>;
    expect(pack!.bundled).toContain('fastify');
    const manifests = pack!.files.map((f) => f.path).filter((f) => /^node_modules\/(?:(?:@[^/]+\/)?[^/]+\/node_modules\/)*(?:@[^/]+\/)?[^/]+\/package\.json$/.test(f));
    expect(manifests).toContain('node_modules/fastify/node_modules/light-my-request/package.json');
    const major = Number(process.versions.node.split('.')[0]);
    const tooNew = manifests.flatMap((m) => {
      const { name, version, engines } = JSON.parse(fs.readFileSync(path.join(ROOT, m), 'utf8')) as { name: string; version: string; engines?: { node?: string } };
      const floor = /^>=\s*(\d+)/.exec(engines?.node ?? '');
      return floor && Number(floor[1]) > major ? [`${name}@${version} needs node ${engines?.node}`] : [];
    });
    expect(tooNew).toEqual([]);
  });
});
