import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { issueCert, makeCa } from '../../src/core/pki.js';
import { containerId } from '../../src/wrapper/container-id.js';
import { running } from '../supervise/procs.js';
import { DROVER_BIN, runDrover } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';
import { failedStart, liveFfmpeg, readStatus, startWrapper } from './run-support.js';

/** A `YYYY-MM-DD HH:MM:SS` local time as epoch ms. */
function localDate(t: string): number {
  const [d, h] = t.split(' ') as [string, string];
  const [y, mo, da] = d.split('-').map(Number) as [number, number, number];
  const [hh, mm, ss] = h.split(':').map(Number) as [number, number, number];
  return new Date(y, mo - 1, da, hh, mm, ss).getTime();
}

describe('drover run: FF WRAPPER\'s API', () => {
  it('serves progress, output, start time, command and pids; SIGTERM stops ffmpeg cleanly (exit 0)', async () => {
    const w = await startWrapper(liveFfmpeg(60, ['-stats_period', '0.2']), { MANAGER_START_DELAY: '1' });
    await waitFor(async () => (await w.get('/last_progress?count=0')).text.split('\n').filter((l) => l.endsWith(' progress=continue')).length >= 25, 20_000, '25 progress blocks');

    // FF WRAPPER's answers: `<YYYY-MM-DD HH:MM:SS> line` in local time, one entry per -progress
    // block with its key=value pairs on one line (spaces gone), text/plain.
    const five = await w.get('/last_progress?count=5');
    expect(five.type).toBe('text/plain');
    const fiveLines = five.text.trimEnd().split('\n');
    expect(fiveLines).toHaveLength(5);
    for (const l of fiveLines) expect(l).toMatch(/^<\d{4}-\d\d-\d\d \d\d:\d\d:\d\d> frame=\d+ fps=\S+ .*total_size=\S+ out_time_us=\d+ .*speed=\S+ progress=continue$/);
    expect(Math.abs(localDate((/^<([^>]+)>/.exec(fiveLines[4]!) as RegExpExecArray)[1]!) - Date.now())).toBeLessThan(30_000);
    const dflt = (await w.get('/last_progress')).text.trimEnd().split('\n');
    expect(dflt).toHaveLength(20);
    const allText = await w.get('/last_progress?count=0&json');
    expect(allText.type).toBe('text/json');
    // Written as Python's json.dumps writes it: ", " between items.
    expect(allText.text).toMatch(/^\[\["\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "frame=\d+ /);
    const all = JSON.parse(allText.text) as Array<[string, string]>;
    expect(all.length).toBeGreaterThan(20);
    expect(all.every(([t, l]) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(t) && l.endsWith('progress=continue'))).toBe(true);
    expect(all.some(([, l]) => / out_time_us=\d+ /.test(l))).toBe(true);
    const jsonFive = JSON.parse((await w.get('/last_progress?count=5&json=1')).text) as unknown[];
    expect(jsonFive).toHaveLength(5);
    // Any value of json asks for JSON, as in FF WRAPPER; a count of 0 or less is everything.
    expect(JSON.parse((await w.get('/last_progress?count=2&json=0')).text)).toHaveLength(2);
    expect((await w.get('/last_progress?count=-1')).text.trimEnd().split('\n').length).toBeGreaterThanOrEqual(all.length);
    const bad = await w.get('/last_progress?count=abc');
    expect(bad.status).toBe(400);
    expect(bad.text).toBe('count must be int\n');

    // ffmpeg's banner-less stderr: the input and output descriptions.
    const out = JSON.parse((await w.get('/last_stdout?count=0&json')).text) as Array<[string, string]>;
    expect(out.some(([, l]) => l.startsWith('Input #0, lavfi'))).toBe(true);
    const two = (await w.get('/last_stdout?count=2')).text.trimEnd().split('\n');
    expect(two).toHaveLength(2);
    for (const l of two) expect(l).toMatch(/^<\d{4}-\d\d-\d\d \d\d:\d\d:\d\d> \S/);
    // Paths match by prefix, as in FF WRAPPER.
    expect((await w.get('/last_stdout_and_more?count=1')).text.trimEnd().split('\n')).toHaveLength(1);

    const start = (await w.get('/start_time')).text;
    expect(start).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(Math.abs(localDate(start) - Date.now())).toBeLessThan(30_000);
    expect(JSON.parse((await w.get('/start_time?json')).text)).toEqual({ start_time: start });
    const cmd = JSON.parse((await w.get('/cmd?json')).text) as { cmd: string[] };
    expect(cmd.cmd.slice(0, 4)).toEqual(['ffmpeg', '-nostdin', '-progress', 'pipe:3']);
    expect((await w.get('/cmd')).text).toMatch(/^ffmpeg -nostdin -progress pipe:3 -nostats -hide_banner -re -f lavfi/);
    expect((await w.get('/get_pid')).text).toBe(String(w.proc.pid));
    expect((await w.get('/get_ffmpeg_pid')).text).toBe(String(w.ffmpegPid));
    expect(JSON.parse((await w.get('/get_ffmpeg_pid?json')).text)).toEqual({ ffmpeg_pid: w.ffmpegPid });
    expect(fs.readFileSync(`/proc/${w.ffmpegPid}/cmdline`, 'utf8')).toMatch(/^ffmpeg\0/);
    // This machine's answer, whatever it is ('' outside a container).
    const container = await w.get('/get_container_id');
    expect(container.status).toBe(200);
    expect(container.text).toBe(containerId());
    // A health check's HEAD: the headers, no body.
    const head = await fetch(w.url + '/status', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    const status = await waitFor(async () => {
      const s = JSON.parse((await w.get('/status')).text) as Record<string, number | string | null>;
      return s.manager === 'watching' && typeof s.fps === 'number' ? s : null;
    }, 10_000, 'the manager watching with a current fps');
    expect(status).toMatchObject({ state: 'running', pid: w.proc.pid, ffmpegPid: w.ffmpegPid });
    expect(status.fps as number).toBeGreaterThan(15);
    expect(status.fps as number).toBeLessThan(35);
    expect(status.speed as number).toBeGreaterThan(0.6);
    const metrics = (await w.get('/metrics')).text;
    expect(metrics).toMatch(/^drover_ffmpeg_up 1$/m);
    expect(metrics).toMatch(/^drover_ffmpeg_fps \d/m);
    expect(metrics).toMatch(/^drover_wrapper_buffered_lines \d+$/m);

    // The same files on disk: WORKDIR/{pipes,logs,status}.
    for (const d of ['pipes', 'logs', 'status']) expect(fs.statSync(path.join(w.workdir, d)).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(w.workdir, 'status', 'PID'), 'utf8').split('\n')[0]).toBe(String(w.proc.pid));
    expect(fs.readFileSync(path.join(w.workdir, 'logs', 'progress.log'), 'utf8')).toMatch(/progress=continue/);
    expect(fs.readFileSync(path.join(w.workdir, 'logs', 'ffmpeg.log'), 'utf8')).toMatch(/Input #0, lavfi/);

    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.output()).toMatch(/ffmpeg stopped on SIGTERM, exit code 255/);
    expect(running(w.ffmpegPid)).toBe(false);
    expect(fs.existsSync(path.join(w.workdir, 'status', 'PID'))).toBe(false);
    expect(readStatus(w.workdir).state).toBe('ended');
  });

  it('exits 1 when ffmpeg ends by itself, as FF WRAPPER does', async () => {
    const w = await startWrapper(['ffmpeg', '-hide_banner', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '1', '-f', 'null', '-']);
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/ffmpeg ended, exit code 0/);
  });

  it('hides passwords in URLs in /cmd and the logs', async () => {
    const w = await startWrapper(['sh', '-c', 'echo "opening rtsp://admin:hunter2@cam/stream"; sleep 30', 'rtsp://admin:hunter2@cam/x']);
    await waitFor(async () => (await w.get('/last_stdout')).text.includes('opening'), 5000, 'the line');
    const seen = (await w.get('/last_stdout')).text + (await w.get('/cmd')).text + fs.readFileSync(path.join(w.workdir, 'logs', 'ffmpeg.log'), 'utf8');
    expect(seen).toContain('rtsp://admin:***@cam');
    expect(seen).not.toContain('hunter2');
    // Passed through to stderr, hidden as well.
    expect(w.output()).toContain('opening rtsp://admin:***@cam/stream');
    expect(w.output()).not.toContain('hunter2');
    w.proc.kill('SIGINT');
    expect(await w.exited, w.output()).toBe(0);
  });
});

describe('drover run: the command\'s output', () => {
  const run = (command: string[], env: Record<string, string> = {}) => {
    const cwd = tempDir('drover-run-');
    return runDrover(['run', '--', ...command], { cwd, env: { WORKDIR: path.join(cwd, 'wd'), API_PORT: '0', ...env } });
  };

  it('passes ffmpeg\'s output to stderr, so a container log shows why it failed', async () => {
    const r = await run(['ffmpeg', '-hide_banner', '-i', '/nonexistent.mp4', '-f', 'null', '-']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^\/nonexistent\.mp4: No such file or directory\ndrover run: ffmpeg ended, exit code 1\n$/m);
  });

  it('with LOG_TO_STDERR=0 keeps it off stderr while it runs, and says its last lines when it fails', async () => {
    const r = await run(['sh', '-c', 'for i in $(seq 1 30); do echo "line $i"; done; echo "bad thing" >&2; exit 3'], { LOG_TO_STDERR: '0' });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines).not.toContain('line 30');
    const tail = lines.indexOf("drover run: the command's last 20 lines:");
    expect(tail).toBeGreaterThan(-1);
    // The last 20 of 31 lines, in order (stdout and stderr as they came), then the end.
    expect(lines.slice(tail + 1, tail + 22)).toEqual([...Array.from({ length: 19 }, (_, i) => `drover run:   line ${i + 12}`), 'drover run:   bad thing', 'drover run: the command ended, exit code 3']);
  });

  it('names "the command" when it is not ffmpeg, and passes both its streams through', async () => {
    const r = await run(['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 4']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('to-stdout\n');
    expect(r.stderr).toContain('to-stderr\n');
    expect(r.stderr).toContain('drover run: the command ended, exit code 4\n');
    expect(r.stderr).not.toContain('ffmpeg');
  });
});

describe('drover run: the manager', () => {
  const quick = { MANAGER_START_DELAY: '0.5', ENCODING_CHECK_START_DELAY: '1.5', ENCODING_MAX_ERROR_TIME: '1.5', KILL_GRACE: '2' };

  it('stops a stream whose speed falls below ENCODING_MIN_SPEED for longer than the error time: exit 1, reason recorded', async () => {
    // Real time for 5 s of media, then half speed (the realtime filter, switched by sendcmd).
    const source = "testsrc=size=160x120:rate=25,sendcmd=c='5.0 realtime speed 0.5',realtime";
    // fps stays above its floor (delta 100): only `any` fails a stream on speed alone.
    const w = await startWrapper(['ffmpeg', '-hide_banner', '-f', 'lavfi', '-i', source, '-stats_period', '0.2', '-f', 'null', '-'], { ...quick, ENCODING_DELTA_FPS: '100', ENCODING_FAIL_WHEN: 'any' });
    const base = await waitFor(async () => {
      const s = JSON.parse((await w.get('/status')).text) as { manager: string; baselineFps: number; minSpeed: number };
      return s.manager === 'checking' ? s : null;
    }, 15_000, 'the check to start');
    expect(base.baselineFps).toBeGreaterThan(15);
    expect(base.minSpeed).toBe(0.85);
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/stream failed \(low_speed\): speed 0\.[4-7]\d*x below 0\.85x for [1-3](\.\d)? s/);
    expect(readStatus(w.workdir)).toMatchObject({ state: 'ended', manager: 'failed', failureReason: 'low_speed' });
    expect(running(w.ffmpegPid)).toBe(false);
  });

  it('stops a stream whose fps and speed both fall, FF WRAPPER\'s rule and the default (ENCODING_FAIL_WHEN=all)', async () => {
    // Half speed after 5 s of media: half the frames per second too.
    const source = "testsrc=size=160x120:rate=25,sendcmd=c='5.0 realtime speed 0.5',realtime";
    const w = await startWrapper(['ffmpeg', '-hide_banner', '-f', 'lavfi', '-i', source, '-stats_period', '0.2', '-f', 'null', '-'], quick);
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/stream failed \(low_fps\): fps 1[0-4](\.\d+)? below 1[0-9](\.\d+)? \(base 2\d(\.\d+)? − 10\); speed 0\.[4-7]\d*x below 0\.85x for [1-3](\.\d)? s/);
    expect(readStatus(w.workdir)).toMatchObject({ state: 'ended', manager: 'failed', failureReason: 'low_fps' });
  });

  it('fails a baseline below ENCODING_MIN_BASE_FPS', async () => {
    const w = await startWrapper(liveFfmpeg(60), { ...quick, ENCODING_MIN_BASE_FPS: '30' });
    expect(await w.exited).toBe(1);
    expect(readStatus(w.workdir)).toMatchObject({ failureReason: 'low_base_fps' });
  });

  it('declares an ffmpeg stopped with SIGSTOP hung after ENCODING_MAX_STDOUT_STUCK_TIME and kills it', async () => {
    const w = await startWrapper(liveFfmpeg(60), { ...quick, ENCODING_DISABLE_CHECK: '1', ENCODING_MAX_STDOUT_STUCK_TIME: '2' });
    await waitFor(async () => (await w.get('/last_progress')).text.includes('progress='), 10_000, 'progress');
    const stoppedAt = Date.now();
    process.kill(w.ffmpegPid, 'SIGSTOP');
    expect(await w.exited).toBe(1);
    const took = Date.now() - stoppedAt;
    expect(took).toBeGreaterThanOrEqual(1900);
    // 2 s stuck + up to 1 s until the next look + 2 s grace before SIGKILL, with room for a busy machine.
    expect(took).toBeLessThan(12_000);
    // The silence it names is at least the stuck time; how much more depends on when the 1 s look fell.
    const silence = /stream failed \(hung\): no output for (\d+(?:\.\d)?) s/.exec(w.output());
    expect(Number(silence?.[1])).toBeGreaterThanOrEqual(2);
    expect(running(w.ffmpegPid)).toBe(false);
  });

  it('detects a stalled input (a pipe that stops delivering) by the counters, though blocks keep coming', async () => {
    const dir = tempDir('drover-stall-');
    const ts = path.join(dir, 'src.ts');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '20', '-c:v', 'mpeg2video', '-f', 'mpegts', ts]);
    const fifo = path.join(dir, 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    // Two inputs: ffmpeg 5 reads inputs on threads only when there are several, and then keeps
    // printing blocks through a stall of one of them, as ffmpeg 7 always does.
    const args = ['-probesize', '32k', '-analyzeduration', '0', '-re', '-i', fifo, '-re', '-f', 'lavfi', '-i', 'anullsrc=r=8000'];
    const w = await startWrapper(['ffmpeg', '-hide_banner', ...args, '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'pcm_s16le', '-f', 'null', '-'], {
      ...quick,
      ENCODING_DISABLE_CHECK: '1',
      ENCODING_MAX_STDOUT_STUCK_TIME: '60',
      ENCODING_MAX_STALL_TIME: '2',
    });
    // Feed 3 s of media at once, then keep the pipe open and silent.
    const writer = fs.openSync(fifo, 'w');
    const data = fs.readFileSync(ts);
    fs.writeSync(writer, data.subarray(0, Math.floor(data.length * 0.15)));
    try {
      expect(await w.exited).toBe(1);
    } finally {
      fs.closeSync(writer);
    }
    expect(w.output()).toMatch(/stream failed \(stalled\): no frame, media time or byte advanced for 2(\.\d)? s while ffmpeg kept reporting/);
    // Blocks did keep coming through the stall: the last ones repeat the same media time.
    const times = fs.readFileSync(path.join(w.workdir, 'logs', 'progress.log'), 'utf8').split('\n').filter((l) => l.startsWith('out_time_us='));
    expect(times.length).toBeGreaterThan(6);
    expect(new Set(times.slice(-3)).size).toBe(1);
  });
});

describe('drover run: WORKDIR, logs, signals', () => {
  it('refuses a second start on a WORKDIR in use, and takes over a stale PID file', async () => {
    const first = await startWrapper(['sleep', '60']);
    const second = await failedStart(['sleep', '60'], { WORKDIR: first.workdir });
    expect(second.code).toBe(2);
    expect(second.output).toContain(`is in use by another drover run (pid ${first.proc.pid}`);
    first.proc.kill('SIGTERM');
    await first.exited;

    // A stale file: a pid that is gone (a reaped child of ours), another start time.
    const dead = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$" ']).toString().trim();
    const pidFile = path.join(first.workdir, 'status', 'PID');
    fs.writeFileSync(pidFile, `${dead}\n12345\n`);
    const third = await startWrapper(['sleep', '60'], {}, first.workdir);
    expect(fs.readFileSync(pidFile, 'utf8').split('\n')[0]).toBe(String(third.proc.pid));
    // A live pid with another start time is a reused pid: stale too.
    third.proc.kill('SIGTERM');
    await third.exited;
    fs.writeFileSync(pidFile, `${process.pid}\n1\n`);
    const fourth = await startWrapper(['sleep', '60'], {}, first.workdir);
    fourth.proc.kill('SIGTERM');
    expect(await fourth.exited).toBe(0);
  });

  it('rotates the logs on SIGHUP and keeps LOG_ROTATION_BACKUP backups', async () => {
    const w = await startWrapper(['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.05; done'], { LOG_ROTATION_BACKUP: '2' });
    const log = path.join(w.workdir, 'logs', 'ffmpeg.log');
    for (let i = 1; i <= 4; i++) {
      await waitFor(() => fs.existsSync(log) && fs.statSync(log).size > 0, 5000, 'a line in the new log');
      w.proc.kill('SIGHUP');
      await waitFor(() => w.output().split('logs rotated').length - 1 === i, 5000, `rotation ${i}`);
    }
    await waitFor(() => fs.statSync(log).size > 0, 5000, 'a line after the last rotation');
    expect(fs.readdirSync(path.join(w.workdir, 'logs')).filter((n) => n.startsWith('ffmpeg.log')).sort()).toEqual(['ffmpeg.log', 'ffmpeg.log.1', 'ffmpeg.log.2']);
    // Nothing lost across a rotation: the numbers run on from the backup into the live file.
    const last = (f: string) => Number(/line (\d+)\n$/.exec(fs.readFileSync(f, 'utf8'))?.[1]);
    const first = (f: string) => Number(/^line (\d+)/.exec(fs.readFileSync(f, 'utf8'))?.[1]);
    expect(first(`${log}.1`)).toBe(last(`${log}.2`) + 1);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('rotates by size with LOG_ROTATION_MODE=size', async () => {
    const w = await startWrapper(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "a line of some forty bytes, number $i"; done; sleep 30'], {
      LOG_ROTATION_MODE: 'size',
      LOG_ROTATION_MAX_KBYTES: '10',
      LOG_ROTATION_BACKUP: '3',
    });
    const logs = path.join(w.workdir, 'logs');
    await waitFor(async () => (await w.get('/last_stdout?count=1')).text.includes('number 3000'), 10_000, 'all lines');
    const files = fs.readdirSync(logs).filter((n) => n.startsWith('ffmpeg.log')).sort();
    expect(files).toEqual(['ffmpeg.log', 'ffmpeg.log.1', 'ffmpeg.log.2', 'ffmpeg.log.3']);
    for (const f of files) expect(fs.statSync(path.join(logs, f)).size).toBeLessThanOrEqual(10 * 1024);
    w.proc.kill('SIGTERM');
    await w.exited;
  });

  it('kills grandchildren with the group when it stops', async () => {
    const dir = tempDir('drover-tree-');
    const pids = path.join(dir, 'pids');
    const w = await startWrapper(['sh', '-c', `sleep 300 & a=$!; sh -c 'sleep 300 & echo $! > ${pids}.inner; wait' & echo "$a" > ${pids}; wait`]);
    const kids = await waitFor(() => (fs.existsSync(`${pids}.inner`) && fs.existsSync(pids) ? [Number(fs.readFileSync(pids, 'utf8')), Number(fs.readFileSync(`${pids}.inner`, 'utf8'))] : null), 5000, 'the tree');
    expect(kids.every(running)).toBe(true);
    w.proc.kill('SIGTERM');
    await w.exited;
    await waitFor(() => kids.every((p) => !running(p)), 5000, 'grandchildren gone');
  });
});

describe('drover run as PID 1 of a container (unshare --pid)', () => {
  /** Children of `pid` seen from this (the host's) pid namespace: [pid, state]. */
  function children(pid: number): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(ppid) === pid) out.push([Number(name), state as string]);
      } catch {
        // gone
      }
    }
    return out;
  }

  it('reaps orphans re-parented to it and passes SIGTERM on to the child', async () => {
    const dir = tempDir('drover-pid1-');
    const p = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, DROVER_BIN, 'run', '--', 'sh', '-c', '(sleep 0.3 &) ; (sleep 0.3 &) ; echo orphans made; exec sleep 60'], {
      env: { ...process.env, WORKDIR: path.join(dir, 'wd'), API_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    onCleanup(async () => {
      p.kill('SIGKILL');
      await exited;
    });
    await waitFor(() => out.includes('started pid'), 15_000, 'drover run to start');
    expect(out).toContain('running as PID 1: reaping orphaned processes');
    // unshare's child is drover: PID 1 inside, an ordinary pid out here.
    const drover = await waitFor(() => children(p.pid as number)[0]?.[0], 5000, 'drover in the namespace');
    // The two sleeps end 0.3 s in, as children of PID 1; without reaping they stay zombies for good.
    await waitFor(() => out.includes('orphans made') || fs.readFileSync(path.join(dir, 'wd', 'logs', 'ffmpeg.log'), 'utf8').includes('orphans made'), 5000, 'the orphans');
    await waitFor(() => {
      const kids = children(drover);
      return kids.length === 1 && kids.every(([, state]) => state !== 'Z');
    }, 10_000, 'only the child left, no zombies');
    process.kill(drover, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/SIGTERM: stopping the command[\s\S]*the command stopped on SIGTERM, killed by SIGTERM/);
  });
});

describe('drover run: bad input', () => {
  it('names a missing ffmpeg', async () => {
    const r = await failedStart(['ffmpeg', '-version'], { PATH: '/nonexistent' });
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/cannot start "ffmpeg": not found on PATH \(install it, or give its full path\)/);
    expect(r.output).not.toMatch(/\n\s+at /);
  });

  it('names an environment value of the wrong form', async () => {
    const r = await failedStart(['ffmpeg', '-version'], { ENCODING_MIN_SPEED: 'fast' });
    expect(r.code).toBe(2);
    expect(r.output).toContain('ENCODING_MIN_SPEED=fast: expected a number, e.g. 0.85');
    const mode = await failedStart(['ffmpeg', '-version'], { LOG_ROTATION_MODE: 'weekly' });
    expect(mode.output).toContain('LOG_ROTATION_MODE=weekly: expected days or size');
    const rule = await failedStart(['ffmpeg', '-version'], { ENCODING_FAIL_WHEN: 'both' });
    expect(rule.code).toBe(2);
    expect(rule.output).toContain('ENCODING_FAIL_WHEN=both: expected all');
  });

  it('refuses a port in use and an unwritable WORKDIR', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const r = await failedStart(['ffmpeg', '-version'], {}, ['--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.output).toContain(`cannot listen on 127.0.0.1:${port}: the port is in use`);
    } finally {
      taken.close();
    }
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    const wd = await failedStart(['ffmpeg', '-version'], { WORKDIR: path.join(file, 'wd') });
    expect(wd.code).toBe(2);
    expect(wd.output).toMatch(/WORKDIR=.*a-file\/wd: cannot use .*: ENOTDIR/);
  });

  it('serves its API over HTTPS with API_TLS_CERT and API_TLS_KEY, renewed on SIGHUP; one without the other is named', async () => {
    const half = await failedStart(['sleep', '1'], { API_TLS_CERT: '/nonexistent.crt' });
    expect(half.code).toBe(2);
    expect(half.output).toContain('API_TLS_KEY is not set: HTTPS needs both API_TLS_CERT and API_TLS_KEY (PEM files)');
    const dir = tempDir('drover-run-tls-');
    const ca = makeCa('run CA');
    const issue = () => {
      const leaf = issueCert(ca, { commonName: 'localhost', names: ['localhost'], ips: ['127.0.0.1'], use: 'server' });
      fs.writeFileSync(path.join(dir, 'api.crt'), leaf.cert);
      fs.writeFileSync(path.join(dir, 'api.key'), leaf.key);
    };
    issue();
    const w = await startWrapper(['sleep', '60'], { API_TLS_CERT: path.join(dir, 'api.crt'), API_TLS_KEY: path.join(dir, 'api.key') });
    expect(w.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const get = (q: string) =>
      new Promise<{ status: number; serial: string; body: string }>((resolve, reject) => {
        https.get(`${w.url}${q}`, { ca: ca.cert, agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, serial: (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber, body }));
        }).on('error', reject);
      });
    const first = await get('/get_pid');
    expect([first.status, first.body]).toEqual([200, String(w.proc.pid)]);
    issue();
    w.proc.kill('SIGHUP');
    await waitFor(async () => (await get('/get_pid')).serial !== first.serial, 10_000, 'the renewed certificate');
    w.proc.kill('SIGTERM');
    await w.exited;
  });

  it('needs API_TOKEN to listen beyond loopback, and then asks for it', async () => {
    const r = await failedStart(['sleep', '1'], { API_HOST: '0.0.0.0' });
    expect(r.code).toBe(2);
    expect(r.output).toContain('API_HOST=0.0.0.0 is not a loopback address: set API_TOKEN');
    const w = await startWrapper(['sleep', '60'], { API_HOST: '0.0.0.0', API_TOKEN: 's3cret' });
    const url = w.url.replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(`${url}/get_pid`)).status).toBe(401);
    expect(await (await fetch(`${url}/get_pid`, { headers: { authorization: 'Bearer s3cret' } })).text()).toBe(String(w.proc.pid));
    w.proc.kill('SIGTERM');
    await w.exited;
  });
});
