import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DroverClient } from '../../src/client/drover-client.js';
import { runDrover, spawnDrover, writeConfig } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

const UNITS = path.resolve(import.meta.dirname, '../../deploy/systemd');

/** The [Service] section of a unit: each key's values in order. */
function serviceOf(unit: string): Map<string, string[]> {
  const text = fs.readFileSync(path.join(UNITS, unit), 'utf8');
  const section = text.split(/^\[Service\]$/m)[1]?.split(/^\[/m)[0] ?? '';
  const keys = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line.trim());
    if (m) keys.set(m[1] as string, [...(keys.get(m[1] as string) ?? []), m[2] as string]);
  }
  return keys;
}

/** The unit's environment (Environment= and its EnvironmentFile=, read from `files`) and ExecStart's arguments after `drover`. */
function commandOf(unit: string, rewrite: (p: string) => string): { args: string[]; env: Record<string, string>; cwd: string } {
  const s = serviceOf(unit);
  const env: Record<string, string> = {};
  const assign = (a: string) => {
    const i = a.indexOf('=');
    if (i > 0) env[a.slice(0, i)] = rewrite(a.slice(i + 1));
  };
  for (const file of s.get('EnvironmentFile') ?? []) for (const line of fs.readFileSync(rewrite(file), 'utf8').split('\n')) if (!line.startsWith('#')) assign(line.trim());
  for (const e of s.get('Environment') ?? []) e.split(/\s+/).forEach(assign);
  const [bin, ...args] = (s.get('ExecStart')?.[0] ?? '').split(/\s+/);
  expect(bin).toBe('drover');
  return { args: args.map(rewrite), env, cwd: rewrite(s.get('WorkingDirectory')?.[0] ?? '/') };
}

describe('the systemd units in deploy/systemd', () => {
  it('pass systemd-analyze verify', () => {
    // A root of its own: the units where systemd looks for them and a drover on its search path.
    const root = tempDir('drover-systemd-root-');
    fs.cpSync('/usr/lib/systemd', path.join(root, 'usr/lib/systemd'), { recursive: true, verbatimSymlinks: true });
    fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/bin/drover'), '#!/bin/sh\n', { mode: 0o755 });
    fs.mkdirSync(path.join(root, 'bin'));
    fs.copyFileSync('/bin/kill', path.join(root, 'bin/kill'));
    fs.mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
    const units = fs.readdirSync(UNITS).filter((n) => n.endsWith('.service'));
    expect(units.sort()).toEqual(['drover-server.service', 'drover-worker.service']);
    for (const u of units) fs.copyFileSync(path.join(UNITS, u), path.join(root, 'etc/systemd/system', u));
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('are sandboxed: a read-only system but for their state directory, no privileges, IP and Unix sockets only, a system call filter', () => {
    for (const unit of ['drover-server.service', 'drover-worker.service']) {
      const s = serviceOf(unit);
      const one = (key: string) => {
        const v = s.get(key);
        expect(v, `${unit}: ${key}=`).toHaveLength(1);
        return v?.[0];
      };
      expect(one('ProtectSystem')).toBe('strict');
      expect(one('ProtectHome')).toBe('yes');
      for (const key of ['PrivateTmp', 'PrivateDevices', 'NoNewPrivileges', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'RestrictNamespaces', 'LockPersonality']) expect(one(key), `${unit}: ${key}=`).toBe('yes');
      expect(one('CapabilityBoundingSet')).toBe('');
      expect(one('UMask')).toBe('0077');
      expect(one('RestrictAddressFamilies')).toBe('AF_UNIX AF_INET AF_INET6');
      expect(s.get('SystemCallFilter')?.[0]).toBe('@system-service');
      expect(one('SystemCallErrorNumber')).toBe('EPERM');
      // V8's JIT needs memory it writes and then executes: node aborts under MemoryDenyWriteExecute.
      expect(s.has('MemoryDenyWriteExecute')).toBe(false);
      // A static user (the worker's destinations need a stable owner), not DynamicUser=.
      expect(one('User')).toBe('drover');
      expect(s.has('DynamicUser')).toBe(false);

      // Whatever the service writes lies below a ReadWritePaths= entry: the working directory
      // (the worker's ./downloads and ./drover-data), the coordinator's store, tokens and certificates.
      const writable = (s.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
      expect(writable.length, `${unit}: ReadWritePaths=`).toBeGreaterThan(0);
      const below = (p: string) => writable.some((w) => p === w || p.startsWith(`${w.replace(/\/$/, '')}/`));
      const written = [one('WorkingDirectory') as string];
      const exec = (s.get('ExecStart')?.[0] ?? '').split(/\s+/);
      for (const flag of ['--data', '--token-file']) if (exec.includes(flag)) written.push(exec[exec.indexOf(flag) + 1] as string);
      const pre = (s.get('ExecStartPre')?.[0] ?? '').split(/\s+/);
      if (pre[1] === 'tls' && pre[2] === 'init') written.push(pre[3] as string);
      for (const p of written) expect(below(p), `${unit} writes ${p}, below none of ReadWritePaths=${writable.join(' ')}`).toBe(true);
      expect(written.length).toBe(unit === 'drover-server.service' ? 4 : 1);
      // StateDirectory=drover is /var/lib/drover: writable by systemd's own rule too.
      expect(one('StateDirectory')).toBe('drover');
    }
    // The worker's process group first gets Drover's own stop of its jobs' groups; then the rest.
    expect(serviceOf('drover-worker.service').get('KillMode')).toEqual(['mixed']);
  });

  it('rate OK in systemd-analyze security --offline', (ctx) => {
    // --offline came with systemd 250.
    const version = Number(/^systemd (\d+)/.exec(execFileSync('systemd-analyze', ['--version'], { encoding: 'utf8' }))?.[1] ?? 0);
    if (version < 250) ctx.skip();
    for (const unit of ['drover-server.service', 'drover-worker.service']) {
      const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', path.join(UNITS, unit)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const m = /Overall exposure level for (\S+): (\d+\.\d+) (\w+)/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      const [, name, score, label] = m as RegExpExecArray;
      console.log(`systemd-analyze security --offline=yes ${name}: ${score} ${label} (systemd ${version})`);
      expect(name).toBe(unit);
      // Measured with systemd 252: 1.4 for the coordinator, 1.5 for the worker (which keeps the
      // chown calls of @privileged for its jobs' tools); 8.7 each with ProtectSystem=full and the
      // few keys before. What is left: the network (both need it), MemoryDenyWriteExecute (see
      // the units), @resources calls, PrivateUsers, IPAddressDeny, ProcSubset.
      expect(Number(score)).toBeLessThanOrEqual(2.0);
      expect(label).toBe('OK');
    }
  });

  it("run a coordinator and a worker as their ExecStart, environment and directories say; reload is the worker's SIGHUP; stop is a clean SIGTERM", async () => {
    const dir = tempDir('drover-systemd-');
    const state = path.join(dir, 'var/lib/drover');
    const etc = path.join(dir, 'etc/drover');
    fs.mkdirSync(state, { recursive: true });
    fs.mkdirSync(etc, { recursive: true });
    const rewrite = (p: string) => p.replaceAll('/var/lib/drover', state).replaceAll('/etc/drover', etc);
    writeConfig(etc, 'server:\n  heartbeat_interval: 500ms\n');

    const server = commandOf('drover-server.service', rewrite);
    // ExecStartPre: the certificate the first start makes.
    const pre = serviceOf('drover-server.service').get('ExecStartPre')?.[0]?.split(/\s+/) ?? [];
    expect(pre[0]).toBe('drover');
    expect((await runDrover(pre.slice(1).map(rewrite), { cwd: server.cwd, env: server.env })).code).toBe(0);
    const srv = spawnDrover([...server.args, '--port', '0'], { cwd: server.cwd, env: server.env });
    const url = await waitFor(() => /coordinator on https:\/\/0\.0\.0\.0:(\d+)/.exec(srv.output())?.[1], 60_000, 'the coordinator to listen').then((port) => `https://127.0.0.1:${port}`);
    fs.copyFileSync(path.join(state, 'tls', 'ca.crt'), path.join(etc, 'ca.crt'));
    const ca = fs.readFileSync(path.join(etc, 'ca.crt'), 'utf8');
    const tokens = fs.readFileSync(path.join(state, 'tokens.yaml'), 'utf8');
    const token = (role: string) => new RegExp(`^${role}: (\\S+)$`, 'm').exec(tokens)?.[1] as string;

    // worker.env as the README says to fill it in.
    const envFile = fs.readFileSync(path.join(UNITS, 'worker.env'), 'utf8').replace(/^DROVER_SERVER=.*$/m, `DROVER_SERVER=${url}`).replace(/^DROVER_TOKEN=.*$/m, `DROVER_TOKEN=${token('worker')}`);
    fs.writeFileSync(path.join(etc, 'worker.env'), envFile, { mode: 0o600 });
    const worker = commandOf('drover-worker.service', rewrite);
    const w = spawnDrover([...worker.args, '--name', 'unit'], { cwd: worker.cwd, env: { ...worker.env, DROVER_LOG_LEVEL: 'info' } });

    const drover = new DroverClient({ server: url, token: token('admin'), ca });
    onCleanup(() => drover.close());
    await waitFor(async () => (await drover.workers()).some((x) => x.name === 'unit' && x.online), 60_000, 'the worker to come online');
    const job = await drover.enqueue({ kind: 'noop', params: {} });
    expect((await drover.wait(job.id)).state).toBe('succeeded');
    expect(fs.existsSync(path.join(state, 'data'))).toBe(true);

    // ExecReload: kill -HUP $MAINPID.
    expect(serviceOf('drover-worker.service').get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    execFileSync('/bin/kill', ['-HUP', String(w.proc.pid)]);
    await waitFor(() => w.output().includes('"msg":"configuration reloaded"'), 60_000, 'the worker to reload');

    // KillMode=mixed: the worker alone gets SIGTERM and ends cleanly well within TimeoutStopSec.
    expect(serviceOf('drover-worker.service').get('KillMode')).toEqual(['mixed']);
    w.proc.kill('SIGTERM');
    srv.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(await srv.exited).toBe(0);
  });
});
