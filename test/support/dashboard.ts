import fs from 'node:fs';
import path from 'node:path';
import { runDrover, spawnDrover, startServer, writeConfig } from './drover.js';
import { makeFile, startNginx } from './nginx.js';
import { tempDir } from './tmp.js';

/** The tokens of the dashboard tests' coordinators (tokens.yaml in each test's dir). */
export const ADMIN = 'admin-token-for-the-dashboard-test-0123456789';
export const WORKER = 'worker-token-for-the-dashboard-test-0123456789';
/** Waits in a browser are on conditions; this only bounds them on a very busy machine (ms). */
export const PAGE_WAIT_MS = 45_000;

/** A coordinator with tokens, its worker (with the worker token) and a CLI bound to it. */
export async function dashboardSetup(yaml: string | ((dir: string) => string)) {
  const dir = tempDir('drover-web-');
  const tokens = path.join(dir, 'tokens.yaml');
  fs.writeFileSync(tokens, `admin: ${ADMIN}\nworker: ${WORKER}\n`, { mode: 0o600 });
  writeConfig(dir, typeof yaml === 'string' ? yaml : yaml(dir));
  const srv = await startServer(dir, ['--token-file', tokens]);
  const cli = (...args: string[]) => runDrover([...args, '--server', srv.url, '--token-file', tokens], { cwd: dir, timeoutMs: 60_000 });
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const r = await fetch(srv.url + p, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return (await r.json()) as T;
  };
  const startWorker = () => spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir, env: { DROVER_TOKEN: WORKER } });
  return { dir, srv, cli, api, startWorker };
}

/**
 * A coordinator whose worker downloads a 64 MiB file from a real nginx at 1 MiB/s into its
 * `archive` destination, its progress reaching the coordinator with each heartbeat (every
 * 300 ms): a progress bar that moves. `id`: the download's job.
 */
export async function slowDownloadSetup() {
  const s = await dashboardSetup((d) => `server:\n  heartbeat_interval: 300ms\nworker:\n  destinations: { archive: ${JSON.stringify(path.join(d, 'archive'))} }\n  download: { tempdir: ${JSON.stringify(path.join(d, 'dl-tmp'))}, connections: 1 }\n`);
  const www = path.join(s.dir, 'www');
  fs.mkdirSync(www);
  makeFile(path.join(www, 'day.mp4'), 64 * 1024 * 1024);
  const nginx = await startNginx(www, { limitRate: '1m' });
  s.startWorker();
  const id = (await s.cli('add', 'download', `${nginx.url}/slow/day.mp4`, '--dest', 'archive:cams')).stdout.split(' ')[0] as string;
  return { ...s, id };
}
