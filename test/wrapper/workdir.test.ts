import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/supervise/pid-file.js';
import { claimPidFile } from '../../src/wrapper/workdir.js';
import { running } from '../supervise/procs.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

const WORKDIR_JS = path.resolve(import.meta.dirname, '../../dist/wrapper/workdir.js');

describe('WORKDIR/status/PID', () => {
  it('counts a live PID 1 as running (a container\'s init is the usual owner)', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'PID'), `1\n${processStartTime(1)}\n`);
    expect(() => claimPidFile(dir)).toThrow(/in use by another drover run \(pid 1,/);
  });

  it('stops the ffmpeg a dead wrapper left running when it takes the file over', async () => {
    const dir = tempDir();
    const orphan = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    onCleanup(() => void orphan.kill('SIGKILL'));
    const pid = orphan.pid as number;
    await waitFor(() => processStartTime(pid), 5000, 'the orphan');
    fs.writeFileSync(path.join(dir, 'FFMPEG_PID'), `${pid}\n${processStartTime(pid)}\n`);
    fs.writeFileSync(path.join(dir, 'PID'), `999999999\n1\n`);
    const said: string[] = [];
    const release = claimPidFile(dir, (t) => said.push(t));
    expect(said).toEqual([`stopping ffmpeg pid ${pid}, left running by a wrapper that is gone`]);
    await waitFor(() => orphan.exitCode !== null || orphan.signalCode !== null, 5000, 'the orphan to be stopped');
    expect(running(pid)).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'PID'), 'utf8').split('\n')[0]).toBe(String(process.pid));
    release();
    expect(fs.existsSync(path.join(dir, 'PID'))).toBe(false);
  });

  it('lets exactly one of eight starters racing for a stale file claim it', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'PID'), '999999999\n1\n');
      const go = path.join(dir, 'go');
      const done = path.join(dir, 'done');
      // Each starter waits for `go`, tries to claim, writes won or lost, and holds what it claimed
      // until `done`: until every starter has tried, however slow the machine makes some of them.
      const script = `
        const fs = require('fs');
        import(${JSON.stringify(WORKDIR_JS)}).then(({ claimPidFile }) => {
          fs.writeFileSync(${JSON.stringify(dir)} + '/ready-' + process.pid, '');
          while (!fs.existsSync(${JSON.stringify(go)})) {}
          let won = false;
          try { claimPidFile(${JSON.stringify(dir)}); won = true; } catch {}
          // Written whole, then named: the test never reads half a file.
          fs.writeFileSync(${JSON.stringify(dir)} + '/tmp-' + process.pid, won ? 'won' : 'lost');
          fs.renameSync(${JSON.stringify(dir)} + '/tmp-' + process.pid, ${JSON.stringify(dir)} + '/said-' + process.pid);
          const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(done)})) clearInterval(t); }, 20);
        });`;
      const exits = Array.from({ length: 8 }, () => new Promise<void>((resolve) => execFile(process.execPath, ['-e', script], () => resolve())));
      // Once all wait, release them together.
      await waitFor(() => fs.readdirSync(dir).filter((n) => n.startsWith('ready-')).length === 8, 15_000, 'eight starters ready');
      fs.writeFileSync(go, '');
      const saidFiles = await waitFor(() => {
        const f = fs.readdirSync(dir).filter((n) => n.startsWith('said-'));
        return f.length === 8 ? f : null;
      }, 30_000, 'eight starters to try');
      const said = saidFiles.map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
      fs.writeFileSync(done, '');
      await Promise.all(exits);
      expect(said.filter((s) => s === 'won')).toHaveLength(1);
      expect(said.filter((s) => s === 'lost')).toHaveLength(7);
    }
  });
});
