// Makes the README's dashboard screenshots (docs/dashboard-overview.png, docs/dashboard-job.png):
// a coordinator and a worker on loopback, downloads served slowly by a local HTTP server, a few
// jobs that succeed and fail, then the overview and a running download's page in Chromium.
//   npm run build && node scripts/screenshots.mjs [--chromium /usr/bin/chromium]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/drover.js');
const browserPath = process.argv.includes('--chromium') ? process.argv[process.argv.indexOf('--chromium') + 1] : '/usr/bin/chromium';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-shots-'));
const children = [];

/** Serves /NAME as `size` bytes at about `rate` bytes a second; /missing/... answers 404. */
function slowServer(size, rate) {
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/missing')) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': size, 'content-type': 'video/mp4' });
    let sent = 0;
    const chunk = Buffer.alloc(Math.max(1, Math.floor(rate / 10)), 7);
    const t = setInterval(() => {
      const n = Math.min(chunk.length, size - sent);
      res.write(chunk.subarray(0, n));
      sent += n;
      if (sent >= size) {
        clearInterval(t);
        res.end();
      }
    }, 100);
    res.on('close', () => clearInterval(t));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

function drover(args, env = {}) {
  const p = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, DROVER_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  return { p, output: () => out };
}

async function until(check, what, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const www = await slowServer(400 * 1024 * 1024, 3 * 1024 * 1024);
fs.writeFileSync(path.join(dir, 'drover.yaml'), `worker:\n  concurrency: 4\n  destinations: { archive: ${JSON.stringify(path.join(dir, 'archive'))} }\n  download: { tempdir: ${JSON.stringify(path.join(dir, 'tmp'))} }\n`);
const server = drover(['server', '--port', '0']);
const url = await until(() => /coordinator on (http:\/\/[^\s"]+)/.exec(server.output())?.[1], 'the coordinator');
const api = async (method, p, body) => {
  const r = await fetch(url + p, { method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  return r.json();
};
drover(['worker', '--server', url, '--name', 'nvr-puller-1']);
await until(async () => (await api('GET', '/api/v1/workers')).workers.length > 0, 'the worker');
await api('POST', '/api/v1/jobs', { jobs: Array.from({ length: 12 }, (_, i) => ({ kind: 'noop', queue: i % 3 ? 'default' : 'reports', owner: i % 2 ? 'alice' : 'bob', params: { echo: `report ${i}` } })) });
await api('POST', '/api/v1/jobs', { jobs: [{ kind: 'download', owner: 'alice', maxAttempts: 1, params: { url: `${www.url}/missing/cam7-2026-11-30.mp4`, dest: 'archive:cam7' } }] });
await until(async () => (await api('GET', '/api/v1/jobs/counts')).counts.failed > 0, 'the failure');
const downloads = await api('POST', '/api/v1/jobs', {
  jobs: ['cam1', 'cam2', 'cam3'].map((cam) => ({ kind: 'download', owner: 'alice', tags: ['nightly'], params: { url: `${www.url}/${cam}/2026-12-01.mp4`, dest: `archive:${cam}` } })),
});
await api('POST', '/api/v1/jobs', { jobs: Array.from({ length: 5 }, (_, i) => ({ kind: 'download', queue: 'nvr', owner: 'bob', params: { url: `${www.url}/nvr/${i}.mp4`, dest: 'archive:nvr' } })) });
const first = downloads.jobs[0].id;
await until(async () => ((await api('GET', `/api/v1/jobs/${first}`)).job.progress?.bytes ?? 0) > 10 * 1024 * 1024, 'a download under way', 60_000);

const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(url + '/');
  await page.waitForSelector('[data-testid=running] .running-job');
  await page.waitForTimeout(2500);
  fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
  await page.screenshot({ path: path.join(root, 'docs/dashboard-overview.png'), fullPage: true });
  await page.goto(`${url}/#/job/${first}`);
  await page.waitForSelector('[data-testid=log]');
  await page.waitForTimeout(2500);
  await page.screenshot({ path: path.join(root, 'docs/dashboard-job.png'), fullPage: true });
  process.stdout.write('wrote docs/dashboard-overview.png and docs/dashboard-job.png\n');
} finally {
  await browser.close();
  // The worker first (it gives its jobs back), then the coordinator; each waited for.
  for (const c of children.reverse()) {
    if (c.exitCode !== null) continue;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 40_000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  }
  www.server.close();
  www.server.closeAllConnections();
  fs.rmSync(dir, { recursive: true, force: true });
}
