import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnSupervised, SpawnError } from '../../src/supervise/spawn.js';
import { tempDir } from '../support/tmp.js';
import { track } from './procs.js';

const node = process.execPath;

describe('spawnSupervised: output', () => {
  it('passes arguments verbatim (no shell), logs every line and keeps a bounded tail', async () => {
    const dir = tempDir();
    const logFile = path.join(dir, 'logs', 'deeper', 'job.log');
    const seen: string[] = [];
    const p = track(
      await spawnSupervised({
        argv: [node, '-e', 'console.log(JSON.stringify(process.argv.slice(1))); console.error("to stderr"); for (let i = 0; i < 100; i++) console.log("line " + i)', '; rm -rf /', '$(id)', 'a b', `'"\``, ''],
        logFile,
        tailLines: 5,
        onLine: (stream, line) => seen.push(`${stream}:${line}`),
      }),
    );
    const exit = await p.done;
    expect(exit).toMatchObject({ code: 0, signal: null, stoppedBy: null });
    expect(seen[0]).toBe(`stdout:${JSON.stringify(['; rm -rf /', '$(id)', 'a b', `'"\``, ''])}`);
    expect(seen).toContain('stderr:to stderr');
    expect(seen).toHaveLength(102);
    // stdout and stderr are separate pipes: where the stderr line lands in the tail varies.
    expect(exit.tail).toHaveLength(5);
    expect(exit.tail.filter((l) => l.startsWith('line ')).slice(-4)).toEqual(['line 96', 'line 97', 'line 98', 'line 99']);
    const logged = fs.readFileSync(logFile, 'utf8');
    expect(logged.split('\n')).toHaveLength(103);
    expect(logged.split('\n').filter((l) => l.startsWith('line ')).at(-1)).toBe('line 99');
    expect(logged).toMatch(/^to stderr$/m);
  });

  it('splits real output on \\r\\n, \\r and \\n and flushes a partial last line at exit', async () => {
    const seen: string[] = [];
    const script = `process.stdout.write("a\\r\\nb\\rframe=1\\rframe=2\\nc"); setTimeout(() => { process.stdout.write("d\\r"); setTimeout(() => process.stdout.write("\\nlast, no newline"), 20); }, 20);`;
    const p = track(await spawnSupervised({ argv: [node, '-e', script], onLine: (s, l) => seen.push(`${s}:${l}`) }));
    const exit = await p.done;
    expect(seen).toEqual(['stdout:a', 'stdout:b', 'stdout:frame=1', 'stdout:frame=2', 'stdout:cd', 'stdout:last, no newline']);
    expect(exit.tail.at(-1)).toBe('last, no newline');
  });

  it('drains large output on both pipes and cuts a huge line into 64 KiB pieces', async () => {
    const dir = tempDir();
    const logFile = path.join(dir, 'big.log');
    let lines = 0;
    let longest = 0;
    const script = 'process.stderr.write("e".repeat(1 << 20)); for (let i = 0; i < 20000; i++) process.stdout.write("out " + i + "\\n");';
    const p = track(
      await spawnSupervised({
        argv: [node, '-e', script],
        logFile,
        onLine: (_s, l) => {
          lines++;
          longest = Math.max(longest, l.length);
        },
      }),
    );
    const exit = await p.done;
    expect(exit.code).toBe(0);
    expect(longest).toBe(64 * 1024);
    expect(lines).toBe(20000 + 16);
    let outBytes = 0;
    for (let i = 0; i < 20000; i++) outBytes += `out ${i}\n`.length;
    expect(fs.statSync(logFile).size).toBe((1 << 20) + 16 + outBytes);
    expect(exit.tail).toHaveLength(50);
  });

  it('appends to an existing log file', async () => {
    const logFile = path.join(tempDir(), 'job.log');
    fs.writeFileSync(logFile, 'earlier attempt\n');
    await track(await spawnSupervised({ argv: ['/bin/sh', '-c', 'echo one'], logFile })).done;
    await track(await spawnSupervised({ argv: ['/bin/sh', '-c', 'echo two >&2'], logFile })).done;
    expect(fs.readFileSync(logFile, 'utf8')).toBe('earlier attempt\none\ntwo\n');
  });

  it('redacts lines before they reach the log file, the tail and the callback', async () => {
    const logFile = path.join(tempDir(), 'job.log');
    const seen: string[] = [];
    const p = track(await spawnSupervised({ argv: ['/bin/sh', '-c', 'echo "pw=hunter2"; printf "hun"; sleep 0.05; printf "ter2\\n"'], logFile, redact: (l) => l.split('hunter2').join('***'), onLine: (_s, l) => seen.push(l) }));
    const exit = await p.done;
    expect(seen).toEqual(['pw=***', '***']);
    expect(exit.tail).toEqual(['pw=***', '***']);
    expect(fs.readFileSync(logFile, 'utf8')).toBe('pw=***\n***\n');
  });

  it('passes cwd and env to the child', async () => {
    const dir = fs.realpathSync(tempDir());
    const seen: string[] = [];
    const p = track(await spawnSupervised({ argv: ['/bin/sh', '-c', 'pwd; echo "$DROVER_X"'], cwd: dir, env: { PATH: process.env.PATH, DROVER_X: 'x y' }, onLine: (_s, l) => seen.push(l) }));
    await p.done;
    expect(seen).toEqual([dir, 'x y']);
  });
});

describe('spawnSupervised: exit codes and start failures', () => {
  it('reports the exit code, and the signal when one killed the leader', async () => {
    expect((await track(await spawnSupervised({ argv: ['/bin/sh', '-c', 'exit 7'] })).done).code).toBe(7);
    const killed = await track(await spawnSupervised({ argv: ['/bin/sh', '-c', 'kill -KILL $$'] })).done;
    expect(killed).toMatchObject({ code: null, signal: 'SIGKILL', stoppedBy: null });
  });

  it('rejects with a clear error naming a binary that is not on PATH, or not there', async () => {
    const err = await spawnSupervised({ argv: ['no-such-binary-drover', '--x'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpawnError);
    expect((err as SpawnError).message).toBe('cannot start "no-such-binary-drover": not found on PATH');
    expect((err as SpawnError).code).toBe('ENOENT');
    await expect(spawnSupervised({ argv: ['/nonexistent/hikload'] })).rejects.toThrow('cannot start "/nonexistent/hikload": no such file');
  });

  it('rejects with a clear error for a file that is not executable', async () => {
    const file = path.join(tempDir(), 'hikload');
    fs.writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    await expect(spawnSupervised({ argv: [file] })).rejects.toThrow(`cannot start "${file}": permission denied`);
  });

  it('rejects naming a working directory that does not exist, and an empty command', async () => {
    const cwd = path.join(tempDir(), 'missing');
    await expect(spawnSupervised({ argv: ['/bin/sh', '-c', 'true'], cwd })).rejects.toThrow(`cannot start "/bin/sh": working directory ${cwd} does not exist`);
    await expect(spawnSupervised({ argv: [] })).rejects.toThrow(SpawnError);
  });

  it('rejects an argument with a NUL byte instead of throwing', async () => {
    await expect(spawnSupervised({ argv: ['/bin/echo', 'a\u0000b'] })).rejects.toThrow(/cannot start "\/bin\/echo"/);
  });
});
