import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startZombieReaper, zombieChildren } from '../../src/supervise/zombie-reaper.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';
import { running } from './procs.js';

/** Orphans two processes onto PID 1 below a child that exits 7; see the file. */
const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/zombie-pid1.mjs');
/** The built reaper (tests run after `npm run build`): the fixture is plain Node, no TypeScript. */
const REAPER_JS = path.resolve(import.meta.dirname, '../../dist/supervise/zombie-reaper.js');
const hasUnshare = spawnSync('unshare', ['--version']).status === 0;

interface Pid1Result {
  pid: number;
  exitCode: number | string | null;
  reaped: number;
  zombies: string[];
}

/** Runs the fixture as PID 1 of a new pid namespace (needs root); --kill-child ends it with us. */
async function runAsPid1(mode: 'reap' | 'none'): Promise<Pid1Result> {
  const argv = ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, FIXTURE, mode, REAPER_JS];
  const { stdout } = await promisify(execFile)('unshare', argv, { timeout: 30_000, killSignal: 'SIGKILL' });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Pid1Result;
}

/** The exit code Node reports for `child`, or a note when no 'exit' event comes in `ms`. */
function exitOf(child: ChildProcess, ms = 10_000): Promise<number | string | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(`no exit event within ${ms} ms`), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Blocks the event loop until `pid` (a child of ours) is a zombie: libuv cannot reap it meanwhile. */
function busyWaitZombie(pid: number): void {
  const deadline = Date.now() + 5_000;
  while (running(pid)) if (Date.now() > deadline) throw new Error(`pid ${pid} did not exit`);
}

/**
 * busyWaitZombie in a setImmediate callback: the next loop turn then starts with the timers that
 * fell due meanwhile (the reaper's), before the poll phase where libuv handles SIGCHLD.
 */
function blockUntilZombie(pid: number): Promise<void> {
  return new Promise((resolve) => setImmediate(() => (busyWaitZombie(pid), resolve())));
}

describe.skipIf(!hasUnshare)('zombie reaper as PID 1 (unshare --pid)', () => {
  it('reaps orphans re-parented to PID 1 and leaves the exit status of its own child to Node', async () => {
    expect(fs.existsSync(REAPER_JS), `${REAPER_JS} missing: run npm run build`).toBe(true);
    const r = await runAsPid1('reap');
    expect(r).toEqual({ pid: 1, exitCode: 7, reaped: 2, zombies: [] });
  });

  it('without the reaper, the orphans stay zombies under PID 1', async () => {
    const r = await runAsPid1('none');
    expect(r.pid).toBe(1);
    expect(r.exitCode).toBe(7);
    expect(r.zombies).toHaveLength(2);
    expect(r.zombies.every((z) => z.endsWith('(sleep)'))).toBe(true);
  });
});

describe('startZombieReaper outside PID 1', () => {
  it('returns null and starts nothing when not PID 1 and not forced', () => {
    expect(process.pid).not.toBe(1);
    let asked = false;
    const reaper = startZombieReaper({
      ownChildren: () => {
        asked = true;
        return [];
      },
      intervalMs: 1,
    });
    expect(reaper).toBeNull();
    expect(asked).toBe(false);
  });

  it('finds a zombie child whose name holds spaces and parentheses, except the ones declared own', () => {
    // The kernel names a process after the file it executes: here "z) Z 1 (x", which fools a
    // parser that reads /proc/PID/stat from the first ')' into ppid 1.
    const exe = path.join(tempDir(), 'z) Z 1 (x');
    fs.symlinkSync('/bin/true', exe);
    const child = spawn(exe, [], { stdio: 'ignore' });
    const pid = child.pid!;
    busyWaitZombie(pid);
    expect(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain('(z) Z 1 (x) Z ');
    expect(zombieChildren([])).toContain(pid);
    expect(zombieChildren([pid])).not.toContain(pid);
  });

  it('never takes the exit status of a child Node spawned, even one ownChildren does not list', async () => {
    // ownChildren lies (as a caller's does between spawning and recording the pid): only the rule
    // "reap a zombie seen in two scans" saves the status, since libuv reaps within one.
    const reaper = startZombieReaper({ ownChildren: () => [], intervalMs: 1, force: true });
    expect(reaper).not.toBeNull();
    onCleanup(() => reaper!.stop());
    for (const code of [3, 4, 5]) {
      const child = spawn('/bin/sh', ['-c', `exit ${code}`], { stdio: 'ignore' });
      const exit = exitOf(child);
      await blockUntilZombie(child.pid!);
      expect(await exit).toBe(code);
    }
    await waitFor(() => zombieChildren([]).length === 0, 5_000, 'no zombie children left');
    expect(reaper!.reaped).toBe(0);
  });
});
