import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { killRecordedGroups } from '../../src/supervise/pid-file.js';
import { onCleanup } from './tmp.js';

export const DROVER_BIN = path.resolve(import.meta.dirname, '../../bin/drover.js');

const procs = new Set<ChildProcess>();

const workDirs = new Set<string>();

function track(p: ChildProcess, cwd: string): void {
  if (procs.size === 0 && workDirs.size === 0) {
    onCleanup(async () => {
      await Promise.all([...procs].map((x) => stopProcess(x, 'SIGKILL')));
      // Workers killed with SIGKILL leave their jobs' process groups behind: kill those too.
      for (const d of workDirs) killRecordedGroups(path.join(d, 'drover-data', 'worker-logs', 'running'));
      workDirs.clear();
    });
  }
  procs.add(p);
  workDirs.add(cwd);
}

export interface DroverProcess {
  proc: ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `drover ARGS` as a child process; killed after the test. */
export function spawnDrover(args: string[], opts: { cwd: string; env?: Record<string, string> }): DroverProcess {
  const proc = spawn(process.execPath, [DROVER_BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, DROVER_LOG_LEVEL: process.env.DROVER_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(proc, opts.cwd);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    procs.delete(proc);
    resolve(code);
  }));
  return { proc, output: () => out, exited };
}

/** Starts `drover server` on a free port; resolves once it listens, with its URL. */
export async function startServer(cwd: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<DroverProcess & { url: string }> {
  const p = spawnDrover(['server', '--port', '0', ...extraArgs], { cwd, env });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${p.output()}`)), 15_000);
    const check = () => {
      const m = /coordinator on (https?:\/\/[^\s"]+)/.exec(p.output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    p.proc.stderr?.on('data', check);
    p.exited.then((code) => reject(new Error(`server exited with ${code}: ${p.output()}`)));
  });
  return { ...p, url };
}

/** Runs a drover client command to completion. */
export async function runDrover(args: string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [DROVER_BIN, ...args], { cwd: opts.cwd, env: { ...process.env, DROVER_LOG_LEVEL: 'warn', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  track(proc, opts.cwd);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  procs.delete(proc);
  return { code, stdout, stderr };
}

/**
 * stderr without the warnings that no online worker can run a job yet: a test that adds jobs while
 * its worker is still starting gets them or not, depending on which comes first.
 */
export function stderrBeyondNoWorker(stderr: string): string {
  return stderr.replace(/^drover: warning: no online worker .*\n/gm, '');
}

export async function stopProcess(p: ChildProcess, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(sig);
  await done;
}

export function writeConfig(dir: string, yaml: string): string {
  const file = path.join(dir, 'drover.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/** True while a process with this pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie is dead, only not reaped yet: this machine's PID 1 reaps orphans when it gets to it.
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
