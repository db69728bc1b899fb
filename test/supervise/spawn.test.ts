import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/supervise/line-splitter.js';
import { RingBuffer } from '../../src/supervise/ring-buffer.js';
import { spawnSupervised } from '../../src/supervise/spawn.js';
import { alive } from '../support/drover.js';
import { tempDir, waitFor } from '../support/tmp.js';

const TREE = path.resolve(import.meta.dirname, '../fixtures/tree.sh');

describe('LineSplitter', () => {
  it('splits on \\n, \\r\\n and \\r, across chunk boundaries, and flushes a partial last line', () => {
    const lines: string[] = [];
    const sp = new LineSplitter((l) => lines.push(l));
    for (const chunk of ['a\nb', '\r\nc\r', '\nd\rframe=1\rframe=2', '\npart']) sp.push(chunk);
    sp.end();
    expect(lines).toEqual(['a', 'b', 'c', 'd', 'frame=1', 'frame=2', 'part']);
  });

  it('cuts a line with no newline into bounded pieces', () => {
    const lines: string[] = [];
    const sp = new LineSplitter((l) => lines.push(l));
    sp.push('x'.repeat(64 * 1024 * 2 + 10));
    sp.end();
    expect(lines.map((l) => l.length)).toEqual([65536, 65536, 10]);
  });
});

describe('RingBuffer', () => {
  it('keeps only the last N items, oldest first', () => {
    const r = new RingBuffer<number>(3);
    for (let i = 1; i <= 7; i++) r.push(i);
    expect(r.last()).toEqual([5, 6, 7]);
    expect(r.last(2)).toEqual([6, 7]);
    expect(r.length).toBe(3);
  });
});

describe('spawnSupervised', () => {
  it('passes arguments verbatim (no shell), logs every line and keeps a tail', async () => {
    const dir = tempDir();
    const logFile = path.join(dir, 'logs', 'job.log');
    const seen: string[] = [];
    const p = await spawnSupervised({
      argv: [process.execPath, '-e', 'console.log(JSON.stringify(process.argv.slice(1))); console.error("to stderr"); for (let i = 0; i < 100; i++) console.log("line " + i)', '; rm -rf /', '$(id)', 'a b'],
      logFile,
      tailLines: 5,
      onLine: (stream, line) => seen.push(`${stream}:${line}`),
    });
    const exit = await p.done;
    expect(exit.code).toBe(0);
    expect(exit.stoppedBy).toBeNull();
    expect(seen[0]).toBe('stdout:["; rm -rf /","$(id)","a b"]');
    expect(seen).toContain('stderr:to stderr');
    // stdout and stderr are separate pipes: where the stderr line lands in the tail varies.
    expect(exit.tail).toHaveLength(5);
    expect(exit.tail.filter((l) => l.startsWith('line ')).slice(-4)).toEqual(['line 96', 'line 97', 'line 98', 'line 99']);
    expect(fs.readFileSync(logFile, 'utf8').split('\n')).toHaveLength(103);
  });

  it('redacts lines before they reach the log file, the tail and the callback', async () => {
    const dir = tempDir();
    const logFile = path.join(dir, 'job.log');
    const seen: string[] = [];
    const p = await spawnSupervised({ argv: ['/bin/sh', '-c', 'echo "pw=hunter2"; printf "hun"; printf "ter2\\n"'], logFile, redact: (l) => l.split('hunter2').join('***'), onLine: (_s, l) => seen.push(l) });
    const exit = await p.done;
    expect(seen).toEqual(['pw=***', '***']);
    expect(exit.tail).toEqual(['pw=***', '***']);
    expect(fs.readFileSync(logFile, 'utf8')).not.toContain('hunter2');
  });

  it('reports the exit code and a clear error for a binary that does not exist', async () => {
    const p = await spawnSupervised({ argv: ['/bin/sh', '-c', 'exit 7'] });
    expect((await p.done).code).toBe(7);
    await expect(spawnSupervised({ argv: ['no-such-binary-drover'] })).rejects.toThrow(/cannot start "no-such-binary-drover": not found/);
  });

  it('stops the whole group: SIGTERM, then SIGKILL for processes that ignore it', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'pids');
    const ac = new AbortController();
    const p = await spawnSupervised({ argv: ['/bin/sh', TREE], env: { ...process.env, PIDFILE: pidFile }, killGraceMs: 300, signal: ac.signal });
    await waitFor(() => fs.existsSync(pidFile), 5_000, 'tree');
    const pids = fs.readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    const t0 = Date.now();
    ac.abort('canceled');
    const exit = await p.done;
    expect(exit.stoppedBy).toBe('canceled');
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await waitFor(() => pids.every((x) => !alive(x)), 5_000, 'every process of the group gone');
  });

  it('kills what the leader leaves behind when it exits by itself', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'bg');
    const p = await spawnSupervised({ argv: ['/bin/sh', '-c', `sleep 1000 >/dev/null 2>&1 & echo $! > ${pidFile}; exit 0`] });
    const exit = await p.done;
    expect(exit.code).toBe(0);
    const bg = Number(fs.readFileSync(pidFile, 'utf8'));
    await waitFor(() => !alive(bg), 5_000, 'the background process gone');
  });
});
