import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupAlive, signalGroup } from '../../src/supervise/process-group.js';
import { spawnSupervised } from '../../src/supervise/spawn.js';
import { tempDir, waitFor } from '../support/tmp.js';
import { killAfter, readPids, running, track } from './procs.js';

/** Two grandchildren, one ignoring SIGTERM, below a leader that ignores it too; pids in $PIDFILE. */
const TREE = path.resolve(import.meta.dirname, '../fixtures/tree.sh');

/** Starts `argv` with output collected; resolves once a line equal to `ready` has been printed. */
async function start(argv: string[], opts: { killGraceMs?: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv; ready?: string } = {}) {
  const lines: string[] = [];
  const p = track(await spawnSupervised({ argv, killGraceMs: opts.killGraceMs, signal: opts.signal, env: opts.env, onLine: (_s, l) => lines.push(l) }));
  if (opts.ready !== undefined) await waitFor(() => lines.includes(opts.ready!), 10_000, `"${opts.ready}" from the child`);
  return { p, lines };
}

describe('stopping a supervised process group', () => {
  it('ends a cooperative process with SIGTERM alone, without waiting for the grace period', async () => {
    const { p } = await start([process.execPath, '-e', 'setInterval(() => {}, 1000); console.log("ready")'], { killGraceMs: 60_000, ready: 'ready' });
    const t0 = Date.now();
    p.stop('canceled');
    p.stop('second call is ignored');
    const exit = await p.done;
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM', stoppedBy: 'canceled' });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(groupAlive(p.pid)).toBe(false);
  });

  it("counts a shell's exit 128 + the signal sent as a clean stop, and another exit code as not", async () => {
    const trapped = (code: number) => ['/bin/sh', '-c', `trap "exit ${code}" INT; echo ready; while :; do sleep 0.05; done`];
    const clean = await start(trapped(130), { killGraceMs: 60_000, ready: 'ready' });
    clean.p.stop('SIGINT', 'SIGINT');
    expect(await clean.p.done).toMatchObject({ code: 130, signal: null, stoppedCleanly: true });
    const other = await start(trapped(143), { killGraceMs: 60_000, ready: 'ready' });
    other.p.stop('SIGINT', 'SIGINT');
    expect(await other.p.done).toMatchObject({ code: 143, signal: null, stoppedCleanly: false });
  });

  it('kills the command when its supervisor dies by SIGKILL: the rest of its script never runs', async () => {
    const dir = tempDir();
    const sleeper = path.join(dir, 'sleeper');
    const marker = path.join(dir, 'ended');
    // The supervisor: another process, spawning with the built module, killed while its command waits.
    const spawnJs = path.resolve(import.meta.dirname, '../../dist/supervise/spawn.js');
    const script = `import { spawnSupervised } from ${JSON.stringify(spawnJs)};
      const p = await spawnSupervised({ argv: ['/bin/sh', '-c', 'sleep 2 & echo $! > "$0"; wait; echo ended > "$1"', ${JSON.stringify(sleeper)}, ${JSON.stringify(marker)}] });
      process.stdout.write('pid ' + p.pid + '\\n');
      await p.done;`;
    const supervisor = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    supervisor.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const leader = Number((await waitFor(() => /pid (\d+)/.exec(out), 10_000, 'the command to start'))[1]);
    const sleep = Number(await waitFor(() => fs.existsSync(sleeper) && fs.readFileSync(sleeper, 'utf8').trim(), 10_000, 'the background sleep'));
    killAfter(() => [sleep]);
    supervisor.kill('SIGKILL');
    await waitFor(() => !running(leader), 10_000, 'the command to die with its supervisor');
    // Its child outlives it (an orphan), but what the script had left to do is gone with it.
    await waitFor(() => !running(sleep), 10_000, 'the orphaned sleep to end');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('sends SIGKILL to the whole group after the grace period when SIGTERM is ignored', async () => {
    const pidFile = path.join(tempDir(), 'pids');
    killAfter(() => readPids(pidFile));
    const ac = new AbortController();
    const { p } = await start(['/bin/sh', TREE], { env: { ...process.env, PIDFILE: pidFile }, killGraceMs: 300, signal: ac.signal, ready: 'tree started' });
    const pids = readPids(pidFile);
    expect(pids).toHaveLength(3);
    expect(pids.every(running)).toBe(true);
    const t0 = Date.now();
    ac.abort('canceled');
    const exit = await p.done;
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', stoppedBy: 'canceled' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    // Killed grandchildren may linger as zombies until init reaps them: `running` ignores those.
    await waitFor(() => pids.every((pid) => !running(pid)), 5_000, 'every process of the group gone');
  });

  it('kills a grandchild that ignores SIGTERM as soon as the leader has exited after a stop', async () => {
    const pidFile = path.join(tempDir(), 'grandchild');
    killAfter(() => readPids(pidFile));
    // The leader (sh, waiting) dies on SIGTERM; the sleep below it ignores SIGTERM (it writes its
    // pid once the trap is set, and the leader says "ready" only then).
    const script = `sh -c 'trap "" TERM; echo $$ > "${pidFile}"; exec sleep 1000' & while [ ! -s "${pidFile}" ]; do sleep 0.01; done; echo ready; wait`;
    const { p } = await start(['/bin/sh', '-c', script], { killGraceMs: 60_000, ready: 'ready' });
    const [grandchild] = readPids(pidFile);
    expect(running(grandchild!)).toBe(true);
    const t0 = Date.now();
    p.stop('timed_out');
    const exit = await p.done;
    expect(exit).toMatchObject({ signal: 'SIGTERM', stoppedBy: 'timed_out' });
    // Well before the 60 s grace: the group was killed when the leader exited.
    expect(Date.now() - t0).toBeLessThan(10_000);
    await waitFor(() => !running(grandchild!), 5_000, 'the grandchild gone');
  });

  it('kills what the leader leaves behind when it exits by itself', async () => {
    const pidFile = path.join(tempDir(), 'bg');
    killAfter(() => readPids(pidFile));
    const { p } = await start(['/bin/sh', '-c', `trap "" TERM; sleep 1000 >/dev/null 2>&1 & echo $! > "${pidFile}"; exit 0`]);
    const exit = await p.done;
    expect(exit).toMatchObject({ code: 0, stoppedBy: null });
    const [bg] = readPids(pidFile);
    await waitFor(() => !running(bg!), 5_000, 'the background process gone');
    p.stop('after the end'); // a no-op
    expect((await p.done).stoppedBy).toBeNull();
  });

  it('stops at once when the signal was aborted before the start', async () => {
    const ac = new AbortController();
    ac.abort('shutdown');
    const { p } = await start([process.execPath, '-e', 'setInterval(() => {}, 1000)'], { signal: ac.signal, killGraceMs: 60_000 });
    const exit = await p.done;
    expect(exit).toMatchObject({ stoppedBy: 'shutdown', signal: 'SIGTERM' });
  });

  it('signalGroup reports a group that is gone and refuses pid 0 and 1', () => {
    expect(signalGroup(2 ** 22 + 12345, 0)).toBe(false);
    expect(() => signalGroup(0, 'SIGKILL')).toThrow(RangeError);
    expect(() => signalGroup(1, 'SIGKILL')).toThrow(RangeError);
    expect(fs.existsSync(TREE)).toBe(true);
  });
});
