import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'undici';
import { CLK_TCK as TICK, cpuOf, stopChild } from './drover-procs.js';
import { fmt } from './stats.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/drover.js');
const MiB = 1024 * 1024;
/** Seconds of start-up left out of the CPU window (node loading, ffmpeg opening its input). */
const SKIP_S = 3;
/** Seconds per slice of the CPU window in the by-slice line. */
const SLICE_S = 5;
/** The targets: supervisor CPU, % of one core, and RSS, bytes, with a real-time ffmpeg; RSS growth with the buffer full, bytes. */
const CPU_TARGET_PCT = 0.25;
const RSS_TARGET = 50 * MiB;
const GROWTH_LIMIT = 8 * MiB;
/** The chatty command: lines written as fast as the pipe takes them, then lines/s from then on. */
const BURST_LINES = 120_000;
const STEADY_RATE = 10_000;

/** Resident memory of a live process, bytes, from /proc/PID/status (VmRSS is in KiB). */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (cpu: number, s: number) => `${fmt((100 * cpu) / s, 2)} %`;
const mib = (b: number) => `${fmt(b / MiB, 1)} MiB`;
const say = (text: string): void => void process.stdout.write(`${text}\n`);

/** A supervising parent we started: `drover run`, or the bare one. */
interface Parent {
  child: ChildProcess;
  /** Pid of the command it runs (also its process group). */
  childPid: number;
  /** `drover run`'s API, e.g. http://127.0.0.1:PORT; '' for the bare parent. */
  url: string;
  /** The V8 inspector's WebSocket, when node was started with --inspect. */
  inspector: string;
  exitCode: Promise<number | null>;
}

const live = new Set<Parent>();

/** Spawns `node ARGS` and resolves once `ready` (the command's pid as group 1) matches its output (and the API's URL, with `needUrl`). */
function startParent(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, needUrl: boolean): Promise<Parent> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exitCode = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const p: Parent = { child, childPid: 0, url: '', inspector: '', exitCode };
  live.add(p);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not started after 20 s: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const pid = ready.exec(out);
      const url = /status API on (http:\S+)/.exec(out);
      if (!pid || (needUrl && !url)) return;
      clearTimeout(timer);
      Object.assign(p, { childPid: Number(pid[1]), url: url?.[1] ?? '', inspector: /Debugger listening on (ws:\S+)/.exec(out)?.[1] ?? '' });
      resolve(p);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready: ${out}`)));
  });
}

/** `drover run -- CMD` on its own temp WORKDIR, API_PORT=0, every other setting at its default. */
function startDroverRun(cmd: string[], workdir: string, nodeFlags: string[] = []): Promise<Parent> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(WORKDIR|API_|STDOUT_BUFFER_LEN|PROGRESS_BUFFER_LEN|NO_FILE_LOG|MANAGER_START_DELAY|ENCODING_|LOG_ROTATION_|IS_DEBUG|KILL_GRACE)/.test(k)));
  return startParent([...nodeFlags, BIN, 'run', '--', ...cmd], { ...env, WORKDIR: workdir, API_PORT: '0' }, /started pid (\d+)/, true);
}

/** The anchor: a parent that starts ffmpeg as drover does (own group, `-progress pipe:3`) and only drains and discards its pipes. */
const BARE = `const c = require('child_process').spawn('ffmpeg', process.argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
for (const s of [c.stdout, c.stderr, c.stdio[3]]) s.on('data', () => {});
c.once('spawn', () => console.log('bare pid ' + c.pid));
process.on('SIGTERM', () => { try { process.kill(-c.pid, 'SIGTERM'); } catch {} });
c.on('exit', () => process.exit(0));`;

/** The chatty command: BURST lines of 80 bytes ("INDEX WRITTEN_AT_MS xxx...") as fast as they go, then RATE lines/s in 100 ms bursts; writes the burst's ms to FILE. */
const CHATTY = `const [burst, rate] = process.argv.slice(1, 3).map(Number), file = process.argv[3];
const pad = 'x'.repeat(80); let i = 0; const t0 = Date.now();
const line = () => { const s = i++ + ' ' + Date.now() + ' '; return s + pad.slice(s.length + 1) + '\\n'; };
const chunk = (n) => { let s = ''; for (let k = 0; k < n; k++) s += line(); return s; };
const fast = () => {
  const ok = process.stdout.write(chunk(1000));
  if (i >= burst) return process.stdout.write('', () => { require('fs').writeFileSync(file, String(Date.now() - t0)); setInterval(() => process.stdout.write(chunk(rate / 10)), 100); });
  if (ok) setImmediate(fast); else process.stdout.once('drain', fast);
};
fast();`;

/** Stops every parent (SIGTERM; SIGKILL after 10 s) and anything left of its command's group. */
async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stopChild(p.child)));
  // The groups should be gone (ESRCH); a parent SIGKILLed after 10 s would leave its group behind.
  const kill = (group: number) => {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {}
  };
  for (const p of live) if (p.childPid > 0) kill(p.childPid);
  live.clear();
}

/**
 * CPU: `drover run` and the bare parent each supervise the same real-time ffmpeg encode, at the
 * same time; CPU seconds of each parent and each ffmpeg over a window of `seconds`, as % of one core.
 */
async function cpuPart(seconds: number, dir: string): Promise<void> {
  const ff = ['-hide_banner', '-re', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-t', String(seconds + SKIP_S + 5), '-c:v', 'mpeg4', '-f', 'null', '-'];
  say(`cpu: ffmpeg ${ff.join(' ')}, under drover run and under a bare pipe-draining parent at once; a ${seconds} s window after ${SKIP_S} s of start-up`);
  const [drover, bare] = await Promise.all([
    startDroverRun(['ffmpeg', ...ff], path.join(dir, 'cpu')),
    startParent(['-e', BARE, '--', '-nostdin', '-progress', 'pipe:3', '-nostats', ...ff], process.env, /bare pid (\d+)/, false),
  ]);
  await sleep(SKIP_S * 1000);
  const pids = [drover.child.pid!, drover.childPid, bare.child.pid!, bare.childPid];
  const t0 = performance.now();
  const c0 = pids.map(cpuOf);
  // Drover's CPU also by slices of SLICE_S, to tell a one-off (V8's memory reducer runs a few full
  // GCs once, some 15-25 s after start) from a steady cost.
  const slices: number[] = [];
  for (let left = seconds, prev = c0[0]!; left > 0; left -= SLICE_S) {
    await sleep(Math.min(SLICE_S, left) * 1000);
    const now = cpuOf(pids[0]!);
    slices.push((100 * (now - prev)) / Math.min(SLICE_S, left));
    prev = now;
  }
  const c1 = pids.map(cpuOf);
  const s = (performance.now() - t0) / 1000;
  const [rssDrover, rssBare] = [rssOf(pids[0]!), rssOf(pids[2]!)];
  const [d, dff, b, bff] = c1.map((c, i) => c - c0[i]!) as [number, number, number, number];
  say(`${'drover run (supervisor)'.padEnd(30)} cpu ${fmt(d, 2)} s = ${pct(d, s).padStart(7)} of one core   its ffmpeg ${fmt(dff, 2)} s = ${pct(dff, s)}`);
  say(`${'bare pipe-draining parent'.padEnd(30)} cpu ${fmt(b, 2)} s = ${pct(b, s).padStart(7)} of one core   its ffmpeg ${fmt(bff, 2)} s = ${pct(bff, s)}`);
  const sorted = [...slices].sort((x, y) => x - y);
  say(`drover cpu by ${SLICE_S} s slice: ${slices.map((x) => fmt(x, 1)).join(' ')} % of one core (median ${fmt(sorted[Math.floor(sorted.length / 2)]!, 2)} %)`);
  say(`ratio drover/bare parent cpu: ${b > 0 ? `${fmt(d / b, 2)}x` : `n/a (bare parent used < 1 tick)`} (window ${fmt(s, 1)} s, ${TICK} ticks/s)`);
  say(`drover supervisor cpu ${pct(d, s)} of one core (target ≤ ${CPU_TARGET_PCT} %): ${(100 * d) / s <= CPU_TARGET_PCT ? 'PASS' : 'FAIL'}`);
  say(`rss at the end of the window: drover run ${mib(rssDrover)}, bare parent ${mib(rssBare)} (the floor of a node process); ratio ${fmt(rssDrover / rssBare, 2)}x`);
  say(`drover run rss ${mib(rssDrover)} (target ≤ ${mib(RSS_TARGET)}): ${rssDrover <= RSS_TARGET ? 'PASS' : 'FAIL'}`);
  drover.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
  const code = await drover.exitCode;
  if (code !== 0) say(`cpu: drover run exited ${code} on SIGTERM (expected 0)`);
}

/**
 * Each parent alone, one after the other, with the same real-time ffmpeg: without the other
 * ffmpeg and parent on the same two cores, what one supervisor costs.
 */
async function alonePart(seconds: number, dir: string): Promise<void> {
  const ff = ['-hide_banner', '-re', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-t', String(seconds + SKIP_S + 5), '-c:v', 'mpeg4', '-f', 'null', '-'];
  const measure = async (p: Parent) => {
    await sleep(SKIP_S * 1000);
    const t0 = performance.now();
    const c0 = cpuOf(p.child.pid!);
    await sleep(seconds * 1000);
    const c = cpuOf(p.child.pid!) - c0;
    const rss = rssOf(p.child.pid!);
    p.child.kill('SIGTERM');
    await p.exitCode;
    return { c, s: (performance.now() - t0) / 1000, rss };
  };
  const d = await measure(await startDroverRun(['ffmpeg', ...ff], path.join(dir, 'alone')));
  const b = await measure(await startParent(['-e', BARE, '--', '-nostdin', '-progress', 'pipe:3', '-nostats', ...ff], process.env, /bare pid (\d+)/, false));
  say(`alone, one after the other: drover run cpu ${pct(d.c, d.s)} of one core, rss ${mib(d.rss)}; bare parent cpu ${pct(b.c, b.s)}, rss ${mib(b.rss)}`);
  say(`drover run alone cpu ${pct(d.c, d.s)} of one core (target ≤ ${CPU_TARGET_PCT} %): ${(100 * d.c) / d.s <= CPU_TARGET_PCT ? 'PASS' : 'FAIL'}`);
}

/** A V8 inspector session on `url`: forces a full GC and reads process.memoryUsage() there. */
async function inspect(url: string) {
  const ws = new WebSocket(url);
  await new Promise((res, rej) => ((ws.onopen = res), (ws.onerror = rej)));
  type Reply = { id?: number; result?: { result?: { value?: string } } };
  const waiting = new Map<number, (m: Reply) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as Reply;
    if (m.id !== undefined) waiting.get(m.id)?.(m);
  };
  let n = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<Reply>((r) => {
      waiting.set(++n, r);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return {
    /** Two full GCs, a pause for the allocator to return pages; then V8's heap in use, bytes. */
    async settle(): Promise<number> {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      await sleep(500);
      const r = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
      return (JSON.parse(r.result?.result?.value ?? '{}') as { heapUsed: number }).heapUsed;
    },
    close: () => ws.close(),
  };
}

/**
 * Memory: `drover run` (STDOUT_BUFFER_LEN at its default 100,000) over the chatty command; RSS,
 * from /proc, each second once the buffer is full, for `seconds`; the growth is between two forced
 * settles (full GC), when the buffer first holds 100,000 lines and at the end.
 */
async function memoryPart(seconds: number, dir: string): Promise<void> {
  const burstFile = path.join(dir, 'burst-ms');
  const run = await startDroverRun([process.execPath, '-e', CHATTY, String(BURST_LINES), String(STEADY_RATE), burstFile], path.join(dir, 'mem'), ['--inspect=127.0.0.1:0']);
  const pid = run.child.pid!;
  const v8 = await inspect(run.inspector);
  try {
    say(`memory: drover run over a command printing ${fmt(BURST_LINES)} lines of 80 bytes at full speed, then ${fmt(STEADY_RATE)} lines/s; STDOUT_BUFFER_LEN 100,000; ${seconds} s with the buffer full`);
    /** Lines drover holds, and the newest one's index and age (ms since the command wrote it). */
    const probe = async () => {
      const metrics = await (await fetch(`${run.url}/metrics`)).text();
      const [[, newest] = ["", "0 0"]] = JSON.parse(await (await fetch(`${run.url}/last_stdout?count=1&json`)).text()) as Array<[string, string]>;
      const [index, at] = newest.split(' ').map(Number) as [number, number];
      return { buffered: Number(/^drover_wrapper_buffered_lines (\d+)/m.exec(metrics)?.[1]), index, lagMs: Date.now() - at };
    };
    const start = performance.now();
    let p = await probe();
    while (p.buffered < 100_000) {
      if (performance.now() - start > 60_000) throw new Error(`the buffer holds ${p.buffered} lines after 60 s`);
      await sleep(250);
      p = await probe();
    }
    const rssFirst = rssOf(pid);
    const heapFull = await v8.settle();
    const rssFull = rssOf(pid);
    const full = { p: await probe(), t: performance.now(), cpu: cpuOf(pid) };
    let rssMax = rssFirst;
    let lagMax = 0;
    for (let i = 0; i < seconds; i++) {
      await sleep(1000);
      p = await probe();
      rssMax = Math.max(rssMax, rssOf(pid));
      lagMax = Math.max(lagMax, p.lagMs);
    }
    const rssEnd = rssOf(pid);
    const s = (performance.now() - full.t) / 1000;
    const cpu = cpuOf(pid) - full.cpu;
    const passed = p.index - full.p.index;
    const heapEnd = await v8.settle();
    const rssEndSettled = rssOf(pid);
    const burstMs = Number(fs.readFileSync(burstFile, 'utf8'));
    say(`burst: ${fmt(BURST_LINES)} lines taken in ${fmt(burstMs / 1000, 2)} s = ${fmt(BURST_LINES / (burstMs / 1000))} lines/s (as fast as drover drained the pipe)`);
    say(`steady: ${fmt(passed)} lines in ${fmt(s, 1)} s = ${fmt(passed / s)} lines/s of ${fmt(STEADY_RATE)} offered; newest line at most ${fmt(lagMax)} ms old; drover cpu ${pct(cpu, s)} of one core`);
    say(`rss when the buffer first held 100,000 lines ${mib(rssFirst)}, at the end ${mib(rssEnd)}, highest ${mib(rssMax)}`);
    say(`after a forced full GC: rss ${mib(rssFull)} → ${mib(rssEndSettled)} (V8 heap in use ${mib(heapFull)} → ${mib(heapEnd)})`);
    const growth = rssEndSettled - rssFull;
    say(`rss growth with the buffer full: ${growth >= 0 ? '+' : ''}${mib(growth)} over ${fmt(passed)} lines (target ≤ ${mib(GROWTH_LIMIT)}, i.e. < ${fmt(GROWTH_LIMIT / passed, 1)} bytes kept per line): ${growth <= GROWTH_LIMIT ? 'PASS' : 'FAIL'}`);
  } finally {
    v8.close();
  }
}

/**
 * `npm run bench -- --suite supervise`: the targets for `drover run` — at most 0.25 % of one core
 * and 50 MB of RSS while ffmpeg encodes in real time (next to a bare pipe-draining parent, run at
 * the same time), and memory flat with the 100,000-line buffer full. `seconds`: the CPU window (default
 * 30); `memSeconds`: how long the memory part runs with the buffer full (default 20).
 */
export async function superviseSuite(o: { seconds?: number; memSeconds?: number } = {}): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v ffmpeg']).status !== 0) return say('supervise: ffmpeg not found (apt-get install -y ffmpeg); suite skipped');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-supbench-'));
  const onExit = () => [...live].forEach((p) => p.child.kill('SIGKILL'));
  process.on('exit', onExit);
  try {
    say(`supervise benchmark: ${process.version}, ${os.availableParallelism()} cores, CLK_TCK ${TICK}`);
    await cpuPart(o.seconds ?? 30, dir);
    await stopAll();
    await alonePart(o.seconds ?? 30, dir);
    await stopAll();
    await memoryPart(o.memSeconds ?? 20, dir);
  } finally {
    await stopAll();
    process.off('exit', onExit);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
