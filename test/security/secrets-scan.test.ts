import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer, writeConfig } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

/**
 * A secrets scan over everything a run printed or stored: a coordinator and a worker (real
 * processes) run jobs whose secret params are echoed by their commands, refused by a server,
 * and put in an ffmpeg input URL; then every answer of the API, every CLI command's output, the
 * processes' own output and every file under their directories (the database and its WAL, the
 * search index, job logs, the outbox) are searched for each secret value, raw and URL-encoded.
 */

/** Each one long and odd enough that no other text holds it by chance. */
const SECRETS = { shell: 'Pw-shell-7q2Zx9', download: 'Pw-download-4kV8r1', ffmpeg: 'Pw-ffmpeg-3nJ5t6' };

/** Not secret, printed and stored the same ways: the scan must find it (it reads where a leak would be). */
const VISIBLE = 'Cam-visible-8d3Wq5';

const FINAL = ['succeeded', 'failed', 'timed_out', 'canceled'];

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('a secrets scan', () => {
  it('finds no secret param value in any answer, any output or any file of a run', async () => {
    const dir = tempDir('drover-secrets-');
    // Refuses every download: the error names the URL and the status, never the credentials.
    const refusing = http.createServer((_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="nvr"' }).end('no'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
    onCleanup(() => new Promise<void>((r) => refusing.close(() => r())));
    const port = (refusing.address() as AddressInfo).port;
    writeConfig(
      dir,
      `server:
  heartbeat_interval: 500ms
worker:
  destinations: { out: ${JSON.stringify(path.join(dir, 'out'))} }
templates:
  leaky:
    argv: [/bin/sh, -c, 'echo "logging in to $3 with $1"; echo "refused: $1" >&2; exit "$2"', leaky, "{password}", "{code}", "{camera}"]
    secrets: [password]
`,
    );
    const srv = await startServer(dir);
    const worker = spawnDrover(['worker', '--server', srv.url, '--name', 'w1'], { cwd: dir });
    const outputs: string[] = [];
    const drover = async (args: string[]) => {
      const r = await runDrover([...args, '--server', srv.url], { cwd: dir });
      // What it printed (its command line is what the user typed, secret and all).
      outputs.push(`${r.stdout}${r.stderr}`);
      return r;
    };
    const ids: string[] = [];
    for (const code of ['0', '3']) ids.push((await drover(['add', '--template', 'leaky', '--param', `password=${SECRETS.shell}`, '--param', `code=${code}`, '--param', `camera=${VISIBLE}`, '--max-attempts', '1'])).stdout.split(' ')[0] as string);
    ids.push((await drover(['add', 'download', `http://127.0.0.1:${port}/clip.mp4`, '--param', 'dest=out', '--param', 'auth_user=admin', '--param', `auth_password=${SECRETS.download}`, '--max-attempts', '1'])).stdout.split(' ')[0] as string);
    ids.push((await drover(['add', 'ffmpeg', '--param', `input=rtsp://admin:${SECRETS.ffmpeg}@127.0.0.1:9/Streaming/101`, '--param', 'output=cam.mkv', '--param', 'dest=out', '--param', 'duration=2', '--max-attempts', '1'])).stdout.split(' ')[0] as string);
    const get = async (p: string) => {
      const r = await fetch(`${srv.url}${p}`);
      const body = await r.text();
      outputs.push(`GET ${p}\n${body}`);
      return body;
    };
    for (const id of ids) await waitFor(async () => FINAL.includes((JSON.parse(await get(`/api/v1/jobs/${id}`)) as { job: { state: string } }).job.state), 60_000, `job ${id} to end`);
    const states = await Promise.all(ids.map(async (id) => (JSON.parse(await get(`/api/v1/jobs/${id}`)) as { job: { state: string } }).job.state));
    expect(states).toEqual(['succeeded', 'failed', 'failed', 'failed']);

    for (const id of ids) {
      await get(`/api/v1/jobs/${id}/logs`);
      await drover(['show', id]);
      await drover(['logs', id]);
    }
    for (const p of ['/api/v1/jobs', '/api/v1/jobs?state=failed', '/api/v1/workers', '/api/v1/stats', '/metrics']) await get(p);
    for (const args of [['jobs'], ['jobs', '--state', 'failed'], ['stats'], ['workers']]) await drover(args);
    // What a live page saw: the events so far, read for a moment.
    const events = new AbortController();
    const stream = await fetch(`${srv.url}/api/v1/events`, { signal: events.signal });
    const reader = stream.body!.getReader();
    outputs.push(new TextDecoder().decode((await reader.read()).value));
    events.abort();

    // Stopped first: their last writes (the WAL, the outbox, the logs) are on disk.
    worker.proc.kill('SIGTERM');
    await worker.exited;
    srv.proc.kill('SIGTERM');
    await srv.exited;
    outputs.push(worker.output(), srv.output());

    // The echoed password reached the job's log, redacted.
    expect(outputs.join('\n')).toContain(`logging in to ${VISIBLE} with ***`);
    const files = filesUnder(dir).map((f) => ({ f, bytes: fs.readFileSync(f) }));
    const scan = (value: string): string[] => {
      const forms = [value, encodeURIComponent(value), Buffer.from(value).toString('base64')];
      const hits: string[] = [];
      for (const [i, text] of outputs.entries()) if (forms.some((form) => text.includes(form))) hits.push(`output ${i}: ${text.slice(0, 200)}`);
      for (const { f, bytes } of files) if (forms.some((form) => bytes.includes(Buffer.from(form)))) hits.push(`${path.relative(dir, f)} holds ${value}`);
      return hits;
    };
    // The param that is not secret is found in the answers, the job's log file and the database.
    const seen = scan(VISIBLE);
    expect(seen.some((h) => h.startsWith('output'))).toBe(true);
    expect(seen.some((h) => /\.log holds/.test(h))).toBe(true);
    expect(seen.some((h) => /drover\.db(-wal)? holds/.test(h))).toBe(true);
    const hits = Object.values(SECRETS).flatMap(scan);
    expect(hits).toEqual([]);
  });
});
