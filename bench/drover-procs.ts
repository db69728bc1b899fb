import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStat } from '../src/supervise/pid-file.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/drover.js');

/** Clock ticks per second of /proc/PID/stat's utime and stime. */
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system, all threads) of a live process, from /proc/PID/stat. */
export function cpuOf(pid: number): number {
  const f = procStat(pid);
  if (!f) throw new Error(`process ${pid} is gone`);
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

export interface Proc {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Children still running: a bench that dies half-way must not leave workers behind. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts `drover ARGS` (`bin`, default bin/drover.js) and resolves once `ready` matches its stderr. */
export function startDrover(args: string[], cwd: string, ready: RegExp, bin = BIN): Promise<Proc & { match: RegExpExecArray }> {
  // DROVER_BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": to profile what a bench runs.
  const nodeArgs = (process.env.DROVER_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args], { cwd, env: { ...process.env, DROVER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drover ${args[0]} did not start: ${err}`)), 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = ready.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, stop: () => stopChild(child) });
      }
    });
    child.on('exit', (code) => reject(new Error(`drover ${args[0]} exited with ${code}: ${err}`)));
  });
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}
