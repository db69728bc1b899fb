import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDrover, spawnDrover, startServer, stderrBeyondNoWorker, writeConfig } from '../support/drover.js';
import { startNginx } from '../support/nginx.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

interface JobJson {
  job: { id: string; state: string; error: string | null; progress: Record<string, number> | null; result: { files: string[]; restarts: number; reason: string | null } | null };
}

async function show(url: string, id: string): Promise<JobJson['job']> {
  return ((await (await fetch(`${url}/api/v1/jobs/${id}`)).json()) as JobJson).job;
}

/** A coordinator and a worker whose config has an `archive` destination and these templates. */
async function cluster(templates: string) {
  const dir = tempDir('drover-ffmpeg-');
  const archive = path.join(dir, 'archive');
  writeConfig(
    dir,
    `server:
  heartbeat_interval: 500ms
worker:
  destinations: { archive: ${JSON.stringify(archive)} }
  ffmpeg:
    restart: { backoff: 200ms, max_restarts: 2 }
templates:
${templates}`,
  );
  const srv = await startServer(dir);
  spawnDrover(['worker', '--server', srv.url], { cwd: dir });
  const add = async (args: string[]) => {
    const r = await runDrover(['add', ...args, '--server', srv.url], { cwd: dir });
    expect(stderrBeyondNoWorker(r.stderr)).toBe('');
    return r.stdout.split(' ')[0] as string;
  };
  const done = (id: string) => waitFor(async () => {
    const j = await show(srv.url, id);
    return ['succeeded', 'failed', 'timed_out', 'canceled'].includes(j.state) ? j : null;
  }, 60_000, `job ${id} to finish`);
  return { dir, archive, srv, add, done };
}

const recordTemplate = `  record:
    kind: ffmpeg
    argv: [ffmpeg, -hide_banner, -re, -f, lavfi, -i, "testsrc=size=160x120:rate=25", -t, "{seconds}", -c:v, mpeg4, "{outdir}/{name}"]
    params: { seconds: { default: "6" } }
`;

describe('the ffmpeg job kind through a worker', () => {
  it('shows fps, speed, media time, size and percent while it runs, then delivers the file to the destination', async () => {
    const c = await cluster(recordTemplate);
    const id = await c.add(['--template', 'record', '--param', 'name=cam1.mp4', '--param', 'dest=archive:cams', '--owner', 'alice']);
    const p = await waitFor(async () => {
      const j = await show(c.srv.url, id);
      return j.state === 'running' && (j.progress?.mediaSeconds ?? 0) >= 2 ? j.progress : null;
    }, 20_000, 'live progress');
    expect(p.fps).toBeGreaterThan(15);
    expect(p.mediaSpeed).toBeGreaterThan(0.6);
    expect(p.bytes).toBeGreaterThan(0);
    expect(p.percent).toBeGreaterThan(20);
    expect(p.percent).toBeLessThan(100);
    const listing = await runDrover(['jobs', '--owner', 'alice', '--server', c.srv.url], { cwd: c.dir });
    expect(listing.stdout).toMatch(new RegExp(`${id}\\s+running\\s+ffmpeg:record\\s+alice.*\\d (B|KiB|MiB)\\s+\\d+\\.\\d%.*fps\\s+[\\d.]+x\\s+media 0:00:0\\d`));

    const j = await c.done(id);
    expect(j.state).toBe('succeeded');
    const file = path.join(c.archive, 'cams', 'cam1.mp4');
    expect(j.result?.files).toEqual([file]);
    const seconds = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file]).toString());
    expect(seconds).toBeCloseTo(6, 0);
  });

  it('copies an http input given as params (no template) into a destination', async () => {
    const c = await cluster('  {}\n');
    const www = path.join(c.dir, 'www');
    fs.mkdirSync(www);
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '4', '-c:v', 'mpeg4', path.join(www, 'clip.mp4')]);
    const nginx = await startNginx(www);
    const id = await c.add(['ffmpeg', '--param', `input=${nginx.url}/files/clip.mp4`, '--param', 'output=copy.mkv', '--param', 'dest=archive']);
    const j = await c.done(id);
    expect(j.error).toBeNull();
    expect(j.state).toBe('succeeded');
    const out = path.join(c.archive, 'copy.mkv');
    expect(j.result?.files).toEqual([out]);
    expect(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', out]).toString().trim()).toBe('mpeg4');
  });

  it('fails a copy whose input ended early (a server that takes no Range and closes mid-file) and keeps the short file from the destination', async () => {
    const c = await cluster('  {}\n');
    const clip = path.join(c.dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '10', '-c:v', 'mpeg4', '-movflags', '+faststart', clip]);
    const bytes = fs.readFileSync(clip);
    // Every request, Range or not, gets the first tenth of the file and then the end of the connection.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', connection: 'close' });
      res.end(bytes.subarray(0, Math.floor(bytes.length / 10)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    onCleanup(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const id = await c.add(['ffmpeg', '--param', `input=http://127.0.0.1:${port}/clip.mp4`, '--param', 'output=copy.mkv', '--param', 'dest=archive', '--max-attempts', '1']);
    const j = await c.done(id);
    expect(j.state).toBe('failed');
    expect(j.result?.reason).toBe('short_output');
    expect(j.error).toMatch(/^output has \d\.\d s of media where 10\.0 s were expected \(the input's duration\)/);
    expect(fs.existsSync(path.join(c.archive, 'copy.mkv'))).toBe(false);
  });

  it('records why the manager failed a stream', async () => {
    const c = await cluster(`${recordTemplate}    time_limit: 1m
    max_attempts: 1
    checks: { enabled: true, manager_start_delay: 500ms, check_start_delay: 1s, max_error_time: 1s, min_base_fps: 30 }
`);
    const id = await c.add(['--template', 'record', '--param', 'name=slow.mp4', '--param', 'seconds=60']);
    const j = await c.done(id);
    expect(j.state).toBe('failed');
    expect(j.error).toMatch(/^low_base_fps: base fps 2\d(\.\d+)? below 30 for \d/);
    expect(j.result?.reason).toBe('low_base_fps');
  });

  it('fails a stream on speed alone only with checks.fail_when: any; by default fps and speed must both fall', async () => {
    // Real time for 2 s of media, then half speed; fps keeps above its floor (delta_fps 100).
    const slowing = (name: string, extra: string) => `  ${name}:
    kind: ffmpeg
    max_attempts: 1
    argv: [ffmpeg, -hide_banner, -f, lavfi, -i, "testsrc=size=160x120:rate=25,sendcmd=c='2.0 realtime speed 0.5',realtime", -t, "5", -stats_period, "0.2", -c:v, mpeg4, "{outdir}/out.mp4"]
    checks: { enabled: true, manager_start_delay: 300ms, check_start_delay: 500ms, max_error_time: 1s, delta_fps: 100, min_base_fps: 0${extra} }
`;
    const c = await cluster(slowing('either', ', fail_when: any') + slowing('both', ''));
    const [either, both] = await Promise.all([c.add(['--template', 'either']), c.add(['--template', 'both'])]);
    const [e, b] = await Promise.all([c.done(either), c.done(both)]);
    expect(e.state).toBe('failed');
    expect(e.result?.reason).toBe('low_speed');
    expect(e.error).toMatch(/^low_speed: speed 0\.\d+x below 0\.85x for \d/);
    expect(b.state).toBe('succeeded');
  });

  it('restarts a live recording with backoff, then gives up after max_restarts', async () => {
    const c = await cluster(`  live:
    kind: ffmpeg
    live: true
    max_attempts: 1
    argv: [ffmpeg, -hide_banner, -f, lavfi, -i, "testsrc=size=160x120:rate=25", -t, "0.5", -c:v, mpeg4, "{outdir}/part.mp4"]
`);
    const id = await c.add(['--template', 'live', '--param', 'dest=archive']);
    const j = await c.done(id);
    expect(j.state).toBe('failed');
    expect(j.error).toBe('ended; gave up after 2 restarts without a stable run');
    expect(j.result?.restarts).toBe(2);
    // Every run's file was kept, none overwritten.
    expect(fs.readdirSync(c.archive).sort()).toEqual(['part (1).mp4', 'part (2).mp4', 'part.mp4']);
  });

  it('keeps a job\'s input from reaching local files through a playlist (a tcp input serving file: segments)', async () => {
    const c = await cluster('  {}\n');
    const secret = path.join(c.dir, 'private.ts');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '2', '-c:v', 'mpeg2video', '-f', 'mpegts', secret]);
    const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://${secret}\n#EXT-X-ENDLIST\n`;
    const server = net.createServer((sock) => sock.end(playlist));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    onCleanup(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const id = await c.add(['ffmpeg', '--param', `input=tcp://127.0.0.1:${port}/p.m3u8`, '--param', 'output=leak.mkv', '--param', 'dest=archive', '--max-attempts', '1']);
    const j = await c.done(id);
    expect(j.state).toBe('failed');
    const logs = await runDrover(['logs', id, '--server', c.srv.url], { cwd: c.dir });
    expect(logs.stdout).toMatch(/Protocol 'file' not on whitelist/);
    const leaked = fs.existsSync(c.archive) ? fs.readdirSync(c.archive).map((n) => fs.statSync(path.join(c.archive, n)).size) : [];
    expect(leaked.every((size) => size < 1000)).toBe(true);
  });

  it('refuses inputs a job may not read, naming the param', async () => {
    const c = await cluster('  {}\n');
    for (const [input, why] of [
      ['file:///etc/passwd', 'scheme file is not allowed'],
      ['/etc/passwd', 'not a URL'],
    ] as const) {
      const r = await runDrover(['add', 'ffmpeg', '--param', `input=${input}`, '--param', 'output=x.mp4', '--server', c.srv.url], { cwd: c.dir });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`params.input: ${why}`);
    }
    const r = await runDrover(['add', 'ffmpeg', '--param', 'input=rtsp://cam/1', '--param', 'output=../x.mp4', '--server', c.srv.url], { cwd: c.dir });
    expect(r.stderr).toContain('params.output: "../x.mp4" is not a plain file name');
  });
});
