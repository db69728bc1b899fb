// The images of deploy/docker, checked without a Docker daemon: their instructions are parsed,
// what they COPY from the build context must exist, their commands must be ones the built CLI
// takes, and their stages are carried out for real in temp directories: the build (npm ci, npm
// run build), the runtime's node_modules (npm ci --omit=dev from the npm registry or its cache,
// better-sqlite3's install script), then the default command with the HEALTHCHECK, and drover
// run as PID 1 with ffmpeg. Only the system packages (apt-get, users) are left to Docker.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/protocol/routes.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const DOCKER = path.join(REPO, 'deploy/docker');
const CLI = path.join(REPO, 'bin/drover.js');

interface Step {
  op: string;
  /** The arguments as written (continuations joined). */
  text: string;
  /** Exec form (a JSON array), when it is one. */
  exec?: string[];
}
interface Stage {
  base: string;
  name: string | null;
  steps: Step[];
}

/** The stages of a Dockerfile (continuation lines joined, comments dropped) and its ARG defaults before the first FROM. */
function parseDockerfile(file: string): { args: Map<string, string>; stages: Stage[] } {
  const lines: string[] = [];
  let cur = '';
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1).trim()} `;
      continue;
    }
    cur += line.trim();
    if (cur.trim()) lines.push(cur.trim());
    cur = '';
  }
  expect(cur, `${file} ends within a continued line`).toBe('');
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const l of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    expect(m, `${file}: ${l}`).not.toBeNull();
    const op = (m?.[1] as string).toUpperCase();
    const text = (m?.[2] as string).trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(text);
      stages.push({ base: f?.[1] as string, name: f?.[2] ?? null, steps: [] });
      continue;
    }
    if (stages.length === 0) {
      expect(op, `${file}: only ARG before the first FROM`).toBe('ARG');
      const [k, v] = text.split('=');
      args.set(k as string, v ?? '');
      continue;
    }
    const step: Step = { op, text };
    const json = op === 'HEALTHCHECK' ? text.replace(/^(--\S+\s+)*/, '').replace(/^CMD\s+/, '') : text;
    if (json.startsWith('[')) step.exec = JSON.parse(json) as string[];
    stages.at(-1)?.steps.push(step);
  }
  return { args, stages };
}

function final(df: { stages: Stage[] }): Stage {
  return df.stages.at(-1) as Stage;
}

function one(stage: Stage, op: string): Step {
  const found = stage.steps.filter((s) => s.op === op);
  expect(found, op).toHaveLength(1);
  return found[0] as Step;
}

/** COPY [--from=X] SRC... DEST: the sources, the destination and the stage copied from (null: the build context). */
function copyOf(step: Step): { from: string | null; sources: string[]; dest: string } {
  const words = step.text.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  return { from, sources: words.slice(0, -1), dest: words.at(-1) as string };
}

/** Whether .dockerignore (patterns relative to the context root, `*` and `**`) leaves `rel` out. */
function ignored(rel: string): boolean {
  const patterns = fs
    .readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  expect(patterns.some((p) => p.startsWith('!')), 'no exceptions in .dockerignore (this check does not read them)').toBe(false);
  const re = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(.*/)?').replace(/\*\*/g, '.*').replace(/\*/g, '[^/]*')}$`);
  const parts = rel.split('/');
  // A pattern matching a parent directory leaves out everything below it.
  return patterns.some((p) => parts.some((_, i) => re(p.replace(/^\/|\/$/g, '')).test(parts.slice(0, i + 1).join('/'))));
}

/** The drover commands a CMD/ENTRYPOINT runs: exec form, or `sh -c "a && exec b"`. */
function droverCommands(argv: string[]): string[][] {
  const scripts = argv[0] === 'sh' && argv[1] === '-c' ? (argv[2] as string).split('&&') : [argv.join(' ')];
  return scripts
    .map((s) => s.trim().replace(/^exec\s+/, '').split(/\s+/))
    .map((w) => (w[0] === '/usr/local/bin/drover' ? ['drover', ...w.slice(1)] : w))
    .filter((w) => w[0] === 'drover');
}

/** `drover ARGS` checked against the built CLI's --help: the subcommands exist and each --flag is listed. */
function checkWithCli(words: string[]): void {
  const sub: string[] = [];
  let help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  const commandsOf = (h: string) => [...(h.split(/^Commands:$/m)[1] ?? '').matchAll(/^ {2}(\S+)/gm)].map((m) => (m[1] as string).split('|')[0]);
  for (const w of words.slice(1)) {
    if (w.startsWith('-') || !commandsOf(help).includes(w)) break;
    sub.push(w);
    help = execFileSync(process.execPath, [CLI, ...sub, '--help'], { encoding: 'utf8' });
  }
  expect(sub.length, `drover ${words.slice(1).join(' ')}: a subcommand`).toBeGreaterThan(0);
  for (const flag of words.filter((w) => /^--./.test(w)).map((w) => w.split('=')[0] as string)) {
    expect(help, `drover ${sub.join(' ')} --help lists ${flag}`).toMatch(new RegExp(`^\\s+(-\\w, )?${flag}\\b`, 'm'));
  }
}

function flagValue(words: string[], flag: string): string | undefined {
  const i = words.indexOf(flag);
  return i >= 0 ? words[i + 1] : undefined;
}

// ---- Carrying out stages for real ----------------------------------------------------------

/** Container paths to host directories: the longest matching prefix wins. */
class Paths {
  private readonly map = new Map<string, string>();
  set(container: string, host: string): void {
    this.map.set(container.replace(/\/$/, ''), host);
  }
  has(container: string): boolean {
    return [...this.map.keys()].some((k) => container === k || container.startsWith(`${k}/`));
  }
  /** One absolute container path. */
  host(container: string): string {
    const k = [...this.map.keys()].filter((p) => container === p || container.startsWith(`${p}/`)).sort((a, b) => b.length - a.length)[0];
    if (k === undefined) throw new Error(`no host directory for ${container}`);
    return this.map.get(k) + container.slice(k.length);
  }
  /** Every mapped absolute path in a command line or value. */
  rewrite(text: string): string {
    return text.replace(/(^|[\s='"])(\/[^\s'"]*)/g, (all, pre: string, p: string) => (this.has(p) ? pre + this.host(p) : all));
  }
}

/** How long one command of a RUN step may take before it counts as hung. */
const RUN_LINE_LIMIT_MS = 180_000;
/** Each image test carries out two npm ci and a build: up to a RUN_LINE_LIMIT_MS each, and what follows. */
const IMAGE_TEST_TIMEOUT_MS = 360_000;

/** Runs `sh -c line` (async: the test's own HTTP server must go on answering meanwhile). */
function sh(line: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** This process's environment without what would steer drover or npm from outside the test. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(DROVER_|npm_|API_|WORKDIR$|ENCODING_)/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** ENV K=V K2=V2 (the only form these files use). */
function envOf(step: Step): Record<string, string> {
  return Object.fromEntries(step.text.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/**
 * The system-package part of a RUN (apt-get, users, directories): the base image's business, not
 * the package's; every other command is run. An unknown one fails the test, to be looked at.
 */
const SYSTEM = new Set(['apt-get', 'rm', 'groupadd', 'useradd', 'install']);

/**
 * Carries out the stage `name` of `df`: a fresh directory for each WORKDIR, its COPYs (from the
 * build context, or from `stageDirs`: the host directory of another stage's WORKDIR), its RUN
 * commands in its WORKDIR with PATH and ENV. `env(line)` adds the test's own variables to a command.
 */
async function carryOut(
  stage: Stage,
  o: { stageDirs: Map<string, Paths>; paths: Paths; env: Record<string, string>; envFor?: (line: string) => Record<string, string>; applyEnv: boolean },
): Promise<{ workdir: string; env: Record<string, string> }> {
  let workdir = '/';
  const env: Record<string, string> = { ...o.env };
  for (const step of stage.steps) {
    if (step.op === 'WORKDIR') {
      workdir = step.text;
      if (!o.paths.has(workdir)) o.paths.set(workdir, tempDir('drover-docker-wd-'));
      fs.mkdirSync(o.paths.host(workdir), { recursive: true });
    } else if (step.op === 'ENV' && o.applyEnv) {
      for (const [k, v] of Object.entries(envOf(step))) {
        if (v.startsWith('/') && !o.paths.has(v)) o.paths.set(v, tempDir('drover-docker-env-'));
        env[k] = o.paths.rewrite(v);
        if (v.startsWith('/')) fs.mkdirSync(env[k] as string, { recursive: true });
      }
    } else if (step.op === 'COPY') {
      const c = copyOf(step);
      const destDir = path.resolve(o.paths.host(workdir), c.dest.startsWith('/') ? o.paths.host(c.dest) : c.dest);
      for (const src of c.sources) {
        const from = c.from === null ? path.join(REPO, src) : (o.stageDirs.get(c.from) as Paths).host(src);
        const to = c.dest.endsWith('/') ? path.join(destDir, path.basename(src)) : destDir;
        fs.mkdirSync(path.dirname(to), { recursive: true });
        // From another stage (node_modules, dist): hard links, the same files without writing them again.
        if (c.from === null) fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
        else execFileSync('cp', ['-al', from, to]);
      }
    } else if (step.op === 'RUN') {
      for (const line of step.text.split('&&').map((l) => l.trim())) {
        if (SYSTEM.has(line.split(/\s+/)[0] as string)) continue;
        // A guard against a hung command, not a measure of speed: on two loaded cores the build
        // stage's `npm ci` (every dependency, dev ones too, beside the deps stage's own) took over 60 s.
        const r = await sh(o.paths.rewrite(line), o.paths.host(workdir), cleanEnv({ ...env, ...o.envFor?.(line) }), RUN_LINE_LIMIT_MS);
        expect(r.code, `RUN ${line}:\n${r.out}`).toBe(0);
      }
    }
  }
  return { workdir, env };
}

/**
 * A stand-in for better-sqlite3's prebuilt binaries (GitHub releases, out of reach here): the
 * binary this checkout's own install built, packed as prebuild-install fetches it, on a local
 * server that npm_config_better_sqlite3_binary_host points the install script at. What runs is
 * the package's install script as `npm rebuild better-sqlite3` runs it in the image.
 */
async function prebuildMirror(): Promise<{ host: string; hits: () => number }> {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${pkg.version}-node-v${process.versions.modules}-linux-${process.arch}.tar.gz`;
  const stage = tempDir('drover-prebuild-');
  fs.mkdirSync(path.join(stage, 'build/Release'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), path.join(stage, 'build/Release/better_sqlite3.node'));
  execFileSync('tar', ['-czf', path.join(stage, name), '-C', stage, 'build/Release/better_sqlite3.node']);
  const tarball = fs.readFileSync(path.join(stage, name));
  let hits = 0;
  const server = http.createServer((req, res) => {
    if (req.url === `/v${pkg.version}/${name}`) {
      hits++;
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': tarball.length }).end(tarball);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  return { host: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits: () => hits };
}

/** The deps stage for real, in a temp dir; its host directory for --from=deps. */
async function depsStage(df: { stages: Stage[] }, extraEnv: (line: string) => Record<string, string>): Promise<Paths> {
  const deps = df.stages.find((s) => s.name === 'deps') as Stage;
  const paths = new Paths();
  // Its ENV (node-gyp's headers in the node image, /usr/local) is the image's; this host's npm has its own.
  await carryOut(deps, { stageDirs: new Map(), paths, env: { npm_config_prefer_offline: 'true' }, envFor: extraEnv, applyEnv: false });
  return paths;
}

let built: { dir: string; paths: Promise<Paths> } | null = null;

/**
 * The build stage for real (npm ci, then `npm run build` on a copy of the sources), once for the
 * file: both Dockerfiles have the same one. Its directory outlives the tests that use it.
 */
function buildStage(df: { stages: Stage[] }): Promise<Paths> {
  if (!built) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-docker-build-'));
    const paths = new Paths();
    paths.set('/src', dir);
    const stage = df.stages.find((s) => s.name === 'build') as Stage;
    built = { dir, paths: carryOut(stage, { stageDirs: new Map(), paths, env: { npm_config_prefer_offline: 'true' }, applyEnv: false }).then(() => paths) };
  }
  return built.paths;
}
afterAll(() => {
  if (built) fs.rmSync(built.dir, { recursive: true, force: true });
});

/** The runtime stage for real, given the deps and build stages' directories; `drover` on PATH as the image's symlink. */
async function runtimeStage(df: { stages: Stage[] }, deps: Paths, build: Paths): Promise<{ paths: Paths; cwd: string; env: Record<string, string> }> {
  const paths = new Paths();
  const bin = tempDir('drover-docker-bin-');
  paths.set('/usr/local/bin', bin);
  const stageDirs = new Map([
    ['deps', deps],
    ['build', build],
  ]);
  const r = await carryOut(final(df), { stageDirs, paths, env: { PATH: `${bin}:${process.env.PATH}` }, applyEnv: true });
  return { paths, cwd: paths.host(r.workdir), env: r.env };
}

function track(p: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  onCleanup(async () => {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGKILL');
      await exited;
    }
  });
  return exited;
}

const version = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const hasUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

describe('deploy/docker', () => {
  const server = parseDockerfile(path.join(DOCKER, 'Dockerfile'));
  const run = parseDockerfile(path.join(DOCKER, 'Dockerfile.run'));

  it('are multi-stage Debian images whose COPYs from the context exist and are not in .dockerignore', () => {
    for (const [file, df] of [
      ['Dockerfile', server],
      ['Dockerfile.run', run],
    ] as const) {
      expect(df.args.get('NODE_IMAGE'), file).toMatch(/^node:20(\.\d+)*-bookworm-slim$/);
      expect(df.stages.map((s) => s.name)).toEqual(['build', 'deps', null]);
      for (const s of df.stages) expect(s.base).toBe('${NODE_IMAGE}');
      const build = df.stages[0] as Stage;
      expect(build.steps.filter((s) => s.op === 'RUN').map((s) => s.text)).toEqual(['npm ci --ignore-scripts --no-audit --no-fund', 'npm run build']);
      // The same in both: one real build below stands for both.
      expect(build.steps).toEqual(server.stages[0]?.steps);
      const names = new Set<string>();
      for (const stage of df.stages) {
        for (const step of stage.steps.filter((s) => s.op === 'COPY')) {
          const c = copyOf(step);
          if (c.from !== null) {
            expect(names.has(c.from), `${file}: COPY --from=${c.from} names an earlier stage`).toBe(true);
            continue;
          }
          for (const src of c.sources) {
            expect(fs.existsSync(path.join(REPO, src)), `${file}: COPY ${src}: not in the repository`).toBe(true);
            expect(ignored(src), `${file}: COPY ${src}: left out by .dockerignore`).toBe(false);
          }
        }
        if (stage.name) names.add(stage.name);
      }
      const last = final(df);
      const runs = last.steps.filter((s) => s.op === 'RUN').map((s) => s.text).join('\n');
      expect(runs, `${file} installs ffmpeg`).toMatch(/apt-get install -y --no-install-recommends ffmpeg /);
      expect(runs).not.toMatch(/python3|g\+\+/);
      expect(one(last, 'USER').text, `${file} runs as a user of its own`).toBe('drover');
      expect(runs).toContain('useradd --system --uid 10001');
      expect(one(last, 'VOLUME').exec?.length).toBe(1);
    }
    // What the build must not send along, and what it builds itself.
    for (const p of ['node_modules', 'dist', '.git', 'drover-data', 'downloads', 'test/x.log', 'drover-0.1.0.tgz']) expect(ignored(p), p).toBe(true);
  });

  it("run drover commands and flags the built CLI takes; the HEALTHCHECK asks the coordinator's /healthz where its CMD listens", () => {
    const last = final(server);
    // tini as PID 1: the coordinator and worker take SIGTERM, but do not reap orphans.
    expect(one(last, 'ENTRYPOINT').exec).toEqual(['/usr/bin/tini', '--']);
    const cmd = one(last, 'CMD').exec as string[];
    const commands = droverCommands(cmd);
    expect(commands.map((w) => w.slice(0, 3).join(' '))).toEqual(['drover tls init', 'drover server --host']);
    for (const w of commands) checkWithCli(w);
    const srv = commands[1] as string[];
    const port = flagValue(srv, '--port') as string;
    expect(one(last, 'EXPOSE').text).toBe(port);
    // The certificate `tls init DIR` makes is the one the server is given; everything lies in the volume.
    const tlsDir = commands[0]?.[3] as string;
    expect([flagValue(srv, '--tls-cert'), flagValue(srv, '--tls-key')]).toEqual([`${tlsDir}/server.crt`, `${tlsDir}/server.key`]);
    const volume = one(last, 'VOLUME').exec?.[0] as string;
    for (const p of [tlsDir, flagValue(srv, '--data') as string, flagValue(srv, '--token-file') as string]) expect(p.startsWith(`${volume}/`), p).toBe(true);
    // The coordinator's cwd is the volume too (a drover.yaml there is read).
    expect(last.steps.filter((s) => s.op === 'WORKDIR').at(-1)?.text).toBe(volume);

    const hc = one(last, 'HEALTHCHECK').exec as string[];
    const url = new URL(hc.find((a) => /^https?:\/\//.test(a)) as string);
    expect(url.pathname).toBe(ROUTES.health.pattern);
    expect(ROUTES.health.method).toBe('GET');
    expect(url.port).toBe(port);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.protocol).toBe(flagValue(srv, '--tls-cert') ? 'https:' : 'http:');
    // The script it runs is one the image copies in.
    const script = hc.find((a) => a.endsWith('.mjs')) as string;
    const copied = last.steps.filter((s) => s.op === 'COPY' && copyOf(s).from === null).map((s) => path.posix.join('/app', copyOf(s).dest));
    expect(copied).toContain(script);

    const r = final(run);
    const entry = one(r, 'ENTRYPOINT').exec as string[];
    expect(entry).toEqual(['/usr/local/bin/drover', 'run', '--']);
    for (const w of droverCommands(entry)) checkWithCli(w);
    // drover run is the init there: no tini, no HEALTHCHECK (its exit status is its health).
    expect(r.steps.some((s) => s.op === 'HEALTHCHECK' || /tini/.test(s.text))).toBe(false);
    expect(r.steps.some((s) => s.op === 'CMD')).toBe(false);
  });

  it(
    'Dockerfile: npm ci --omit=dev --ignore-scripts, then better-sqlite3 rebuilt, give a runtime whose default command serves /healthz to the HEALTHCHECK and stops cleanly on SIGTERM',
    async () => {
      const mirror = await prebuildMirror();
      const npmCache = tempDir('drover-npm-cache-');
      const [deps, build] = await Promise.all([
        depsStage(server, (line): Record<string, string> =>
          // prebuild-install keeps what it fetched in the npm cache: a cache of its own keeps this
          // stand-in out of the real one (npm ci, before it, uses the real one).
          line.startsWith('npm rebuild') ? { npm_config_better_sqlite3_binary_host: mirror.host, npm_config_cache: npmCache } : {},
        ),
        buildStage(server),
      ]);
      const nm = deps.host('/app/node_modules');
      expect(fs.existsSync(path.join(nm, 'better-sqlite3/build/Release/better_sqlite3.node')), 'better-sqlite3 built').toBe(true);
      expect(mirror.hits(), 'the install script fetched its binary').toBe(1);
      for (const dev of ['typescript', 'vitest', 'esbuild', 'bullmq']) expect(fs.existsSync(path.join(nm, dev)), `${dev} is a devDependency`).toBe(false);

      const rt = await runtimeStage(server, deps, build);
      expect(fs.existsSync(path.join(rt.paths.host('/app/dist/cli/main.js')))).toBe(true);
      // The runtime stage's own `drover --version` ran (carryOut); once more, as a check.
      expect(execFileSync('drover', ['--version'], { cwd: rt.cwd, env: cleanEnv(rt.env), encoding: 'utf8' }).trim()).toBe(version);

      // The default CMD, paths in the volume, on a free port instead of 7070.
      const cmd = one(final(server), 'CMD').exec as string[];
      const script = rt.paths.rewrite(cmd[2] as string).replace(/--port \d+/, '--port 0');
      const p = spawn(cmd[0] as string, [cmd[1] as string, script], { cwd: rt.cwd, env: cleanEnv(rt.env), stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = track(p);
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const port = await waitFor(() => /coordinator on https:\/\/0\.0\.0\.0:(\d+)/.exec(out)?.[1], 30_000, `the coordinator to listen:\n${out}`);
      const volume = rt.paths.host('/data');
      for (const f of ['tokens.yaml', 'tls/ca.crt', 'tls/server.crt', 'data']) expect(fs.existsSync(path.join(volume, f)), f).toBe(true);

      const hc = one(final(server), 'HEALTHCHECK').exec as string[];
      const probe = (url: string, wrap: string[] = []) => {
        const argv = [...wrap, ...hc.map((a) => (/^https?:\/\//.test(a) ? url : rt.paths.rewrite(a)))];
        return sh(argv.map((a) => `'${a}'`).join(' '), rt.cwd, cleanEnv(rt.env), 20_000);
      };
      const healthz = (hc.find((a) => /^https?:\/\//.test(a)) as string).replace(/:\d+\//, `:${port}/`);
      const ok = await probe(healthz);
      expect(ok.code, ok.out).toBe(0);

      // `docker stop`: SIGTERM (tini passes it on), a clean exit.
      p.kill('SIGTERM');
      expect(await exited, out).toBe(0);

      // A coordinator process whose port does not answer: unhealthy.
      const fake = path.join(tempDir('drover-fake-'), 'drover');
      fs.writeFileSync(fake, 'setTimeout(() => {}, 30000);\n');
      const f = spawn(process.execPath, [fake, 'server'], { stdio: 'ignore' });
      track(f);
      await waitFor(() => fs.readFileSync(`/proc/${f.pid}/cmdline`, 'utf8').includes(fake), 5000, 'the fake coordinator');
      const down = await probe(healthz);
      expect(down.code, down.out).toBe(1);
      expect(down.out).toMatch(/healthcheck: https:\/\/127\.0\.0\.1:\d+\/healthz: .*ECONNREFUSED/);
      f.kill('SIGKILL');
      // A container with no coordinator in it (a worker): a pid namespace of its own, nothing to check.
      if (hasUnshare) {
        const worker = await probe(healthz, ['unshare', '--pid', '--fork', '--mount-proc']);
        expect(worker.code, worker.out).toBe(0);
      }
    },
    IMAGE_TEST_TIMEOUT_MS,
  );

  it.skipIf(!hasUnshare)(
    'Dockerfile.run: npm ci --omit=dev --ignore-scripts alone gives a drover run that supervises ffmpeg as PID 1 and stops it cleanly on SIGTERM',
    async () => {
      const [deps, build] = await Promise.all([depsStage(run, () => ({})), buildStage(run)]);
      const nm = deps.host('/app/node_modules');
      // drover run never loads the SQLite store: its native module is not built here, and need not be.
      expect(fs.existsSync(path.join(nm, 'better-sqlite3/build'))).toBe(false);
      expect(fs.readdirSync(path.join(nm, '@koromix')).some((n) => n.startsWith('koffi-linux-')), "koffi's binary package").toBe(true);
      const rt = await runtimeStage(run, deps, build);
      const archive = rt.paths.host('/archive');
      expect(rt.cwd).toBe(archive);
      expect(rt.env.WORKDIR).toBe(rt.paths.host('/var/lib/drover-run'));

      const entry = (one(final(run), 'ENTRYPOINT').exec as string[]).map((a) => rt.paths.rewrite(a));
      const ffmpeg = ['ffmpeg', '-hide_banner', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-c:v', 'mpeg4', '-f', 'segment', '-segment_time', '1', '/archive/seg-%03d.mkv'].map((a) => rt.paths.rewrite(a));
      // `docker run drover-run ffmpeg ...`: the entrypoint, then the arguments, as PID 1 of a pid namespace.
      const p = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...entry, ...ffmpeg], { cwd: rt.cwd, env: cleanEnv({ ...rt.env, API_PORT: '0' }), stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = track(p);
      let out = '';
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('started pid'), 20_000, `drover run to start ffmpeg:\n${out}`);
      // koffi, installed without any script, loads: the reaper runs.
      expect(out).toContain('running as PID 1: reaping orphaned processes');
      const api = /status API on (http:\/\/\S+)/.exec(out)?.[1] as string;
      const status = await waitFor(async () => {
        const s = (await (await fetch(`${api}/status`)).json()) as { state: string; frame?: number };
        return s.state === 'running' && (s.frame ?? 0) > 0 ? s : null;
      }, 20_000, 'frames');
      expect(status.state).toBe('running');
      await waitFor(() => fs.readdirSync(archive).some((n) => /^seg-\d{3}\.mkv$/.test(n)), 10_000, 'a segment in the archive');
      expect(fs.existsSync(path.join(rt.env.WORKDIR as string, 'logs/ffmpeg.log'))).toBe(true);
      // `docker stop`: SIGTERM to PID 1 (drover, an ordinary pid out here), passed on to ffmpeg.
      const drover = Number(fs.readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      process.kill(drover, 'SIGTERM');
      expect(await exited, out).toBe(0);
    },
    IMAGE_TEST_TIMEOUT_MS,
  );
});
