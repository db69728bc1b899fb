import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cpuOf, startDrover } from './drover-procs.js';
import { startNginx } from './nginx.js';
import { listFiles, makeSegmentTree } from './segment-tree.js';
import { describeSpread, fmt, spread } from './stats.js';

/** The CLI from this build (drover-cli.ts), so dist/ need not be current. */
const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), 'drover-cli.js');
const CHANNEL = 'desertbus';
const QUALITIES = ['source', '480p'];
const HOURS = 5;
const MB = 1e6;
/** The targets: drover/rclone speed on every scenario, and the mirror's peak RSS on a full pass. */
const SPEED_TARGET = 1.5;
const RSS_TARGET = 150 * MB;

const say = (text: string): void => void process.stdout.write(`${text}\n`);

interface Run {
  seconds: number;
  /** Peak RSS of the copying process, bytes. */
  rss: number;
  /** CPU seconds of the copying process, and of the server it copies from (nginx: master and worker). */
  cpu: number;
  serverCpu: number;
  /** Segments it copied, as it says (drover's summary, rclone's stats). */
  fetched: number;
}

/** The pids of a process and its children. */
function family(pid: number): number[] {
  const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...kids];
}

/** Runs `cmd` under GNU time (its max RSS and CPU) while summing the server's CPU; rejects on a non-zero exit. */
function timed(cmd: string[], statFile: string, server: number[]): Promise<Omit<Run, 'fetched'> & { out: string; err: string }> {
  const serverCpu = () => server.reduce((sum, pid) => sum + cpuOf(pid), 0);
  const cpu0 = serverCpu();
  const t0 = performance.now();
  const p = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', statFile, ...cmd], { env: { ...process.env, DROVER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`${cmd.join(' ')} exited with ${code}: ${err.slice(-2000)}`));
      const [kib, user, sys] = fs.readFileSync(statFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
      resolve({ seconds, rss: (kib ?? NaN) * 1024, cpu: (user ?? NaN) + (sys ?? NaN), serverCpu: serverCpu() - cpu0, out, err });
    });
  });
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

/** `n` distinct random members of `xs`. */
function sample<T>(xs: T[], n: number): T[] {
  const a = [...xs];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (a.length - i));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a.slice(0, n);
}

const SCENARIOS = [
  { key: 'full', title: 'full pass into an empty destination' },
  { key: 'none', title: 'pass with nothing missing' },
  { key: 'some', title: 'pass with 1 % missing' },
] as const;
type ScenarioKey = (typeof SCENARIOS)[number]['key'];
const TOOLS = ['drover', 'rclone'] as const;
type Tool = (typeof TOOLS)[number];

/**
 * `npm run bench -- --suite mirror`: `drover mirror` (from `drover segments serve`, its own
 * process) next to `rclone copy --transfers 8 --checkers 8` (from nginx's autoindex) on a
 * wubloader tree of `segments` random files of `sizeKiB` KiB, over loopback: a full pass, a pass
 * with nothing missing and one with 1 % missing, each tool into a fresh destination, `rounds`
 * times alternating which goes first; then `cp -r` of the tree as the floor. Complete copies are
 * made with `cp -a` (rclone compares size and mtime). `sweep` times one full pass per concurrency.
 */
export async function mirrorSuite(o: { rounds?: number; segments?: number; sizeKiB?: number; concurrency?: number; sweep?: number[] } = {}): Promise<void> {
  const rounds = o.rounds ?? 3;
  const segments = o.segments ?? 10_000;
  const size = (o.sizeKiB ?? 20) * 1024;
  const concurrency = o.concurrency ?? 8;
  if (!fs.existsSync('/usr/bin/time')) throw new Error('mirror: /usr/bin/time not found (apt-get install -y time): it measures peak RSS and CPU');
  const haveRclone = spawnSync('sh', ['-c', 'command -v rclone']).status === 0;
  if (!haveRclone) say('mirror: rclone not found (apt-get install -y rclone); its rows are skipped');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-mirrorbench-'));
  // The tree, then every copy (kept till the end, see freshDest): warm-ups, 7 a round, the sweep.
  const need = (segments * size + 1e6) * (3 + 7 * rounds + (o.sweep?.length ?? 0));
  const { bavail, bsize } = fs.statfsSync(dir);
  if (bavail * bsize < need) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mirror: ${os.tmpdir()} has ${fmt((bavail * bsize) / MB)} MB free, the copies need ${fmt(need / MB)} MB (fewer --rounds or --segments, or TMPDIR elsewhere)`);
  }
  const src = path.join(dir, 'tree');
  const statFile = path.join(dir, 'time.txt');
  const t0 = performance.now();
  const tree = makeSegmentTree(src, { segments, size, hours: HOURS, channel: CHANNEL, qualities: QUALITIES });
  const made = (performance.now() - t0) / 1000;
  const nMissing = Math.max(1, Math.round(segments / 100));
  const want: Record<ScenarioKey, number> = { full: segments, none: 0, some: nMissing };
  const nginx = haveRclone ? await startNginx(src, { autoindex: true, accessLog: false }) : null;
  const server = await startDrover(['segments', 'serve', src, '--port', '0'], dir, /serving segments of .* on (http:\/\/[^\s"]+)/, CLI);
  const url = server.match[1] as string;
  const expected = tree.files.join('\n');

  const prepare = (key: ScenarioKey, dest: string, missing: string[]) => {
    if (key === 'full') fs.mkdirSync(dest);
    else sh('cp', ['-a', src, dest]);
    if (key === 'some') for (const rel of missing) fs.unlinkSync(path.join(dest, rel));
    // Whatever the copy left dirty is written before the clock starts.
    sh('sync', []);
  };
  const check = (dest: string, what: string) => {
    if (listFiles(dest).join('\n') !== expected) throw new Error(`${what}: ${dest} does not hold exactly the ${segments} segments (${listFiles(dest).length} files)`);
  };
  const runTool = async (tool: Tool, dest: string, c = concurrency): Promise<Run> => {
    if (tool === 'drover') {
      const r = await timed([process.execPath, CLI, 'mirror', '--from', url, '--base', dest, '--channels', CHANNEL, '--qualities', QUALITIES.join(','), '--concurrency', String(c), '--json'], statFile, [server.child.pid as number]);
      const summary = JSON.parse(r.out) as { ok: boolean; stillMissing: string[]; peers: Array<{ fetched: number; errors: string[] }> };
      if (!summary.ok) throw new Error(`drover mirror not ok: ${summary.stillMissing.length} still missing, ${summary.peers.flatMap((p) => p.errors).slice(0, 3).join('; ')}`);
      check(dest, 'drover mirror');
      return { ...r, fetched: summary.peers.reduce((n, p) => n + p.fetched, 0) };
    }
    const r = await timed(['rclone', 'copy', '--config', '/dev/null', '--http-url', `${(nginx as NonNullable<typeof nginx>).url}/files/`, ':http:', dest, '--transfers', '8', '--checkers', '8', '--stats', '1h', '--stats-log-level', 'NOTICE'], statFile, family((nginx as NonNullable<typeof nginx>).pid));
    check(dest, 'rclone copy');
    return { ...r, fetched: Number(/^Transferred:\s+(\d+) \/ \d+,/m.exec(r.err)?.[1] ?? 0) };
  };
  // Every copy stays until the end. ext4 skips inodes freed in the last minute when it allocates
  // new ones (recently_deleted), reading their inode blocks: creating 10,000 files just after
  // deleting 10,000 costs ~250 µs per file in the kernel instead of ~20, whoever creates them.
  let copies = 0;
  const freshDest = (what: string) => path.join(dir, `dest-${what}-${++copies}`);
  const once = async (tool: Tool, key: ScenarioKey, missing: string[], c = concurrency): Promise<Run> => {
    const dest = freshDest(`${tool}-${key}`);
    prepare(key, dest, missing);
    const r = await runTool(tool, dest, c);
    if (r.fetched !== want[key]) throw new Error(`${tool} (${key}) copied ${r.fetched} segments, expected ${want[key]}`);
    return r;
  };

  const tools = TOOLS.filter((t) => t === 'drover' || haveRclone);
  const runs = Object.fromEntries(SCENARIOS.map((s) => [s.key, { drover: [] as Run[], rclone: [] as Run[] }])) as Record<ScenarioKey, Record<Tool, Run[]>>;
  const cp: number[] = [];
  try {
    say(
      `mirror benchmark: ${fmt(segments)} segments × ${fmt(size / 1024)} KiB (${fmt(tree.bytes / MB, 1)} MB) in ${QUALITIES.length * HOURS} hour dirs (${CHANNEL} × ${QUALITIES.join(',')} × ${HOURS} hours), written in ${fmt(made, 1)} s; loopback; ` +
        `drover mirror --concurrency ${concurrency} from drover segments serve, rclone copy --transfers 8 --checkers 8 from nginx autoindex; ${rounds} rounds after a warm-up pass each, medians; ${os.availableParallelism()} cores`,
    );
    for (const tool of tools) await once(tool, 'full', []);
    for (let round = 0; round < rounds; round++) {
      const missing = sample(tree.files, nMissing);
      const line: string[] = [];
      for (const s of SCENARIOS) {
        for (const tool of round % 2 === 0 ? tools : [...tools].reverse()) runs[s.key][tool].push(await once(tool, s.key, missing));
        line.push(`${s.key} ${tools.map((t) => `${t} ${fmt(runs[s.key][t].at(-1)!.seconds, 2)} s`).join(' ')}`);
      }
      const dest = freshDest('cp');
      sh('sync', []);
      const c = await timed(['cp', '-r', src, dest], statFile, []);
      check(dest, 'cp -r');
      cp.push(c.seconds);
      say(`  round ${round + 1}/${rounds}: ${line.join('; ')}; cp -r ${fmt(c.seconds, 2)} s`);
    }

    for (const s of SCENARIOS) {
      say(`${s.title} (${fmt(want[s.key])} to copy):`);
      for (const tool of tools) {
        const rs = runs[s.key][tool];
        const t = spread(rs.map((r) => r.seconds)).median;
        const rate = want[s.key] > 0 ? `${fmt((want[s.key] * size) / MB / t, 1).padStart(6)} MB/s copied` : '        nothing copied';
        say(
          `  ${tool.padEnd(7)} ${describeSpread(rs.map((r) => r.seconds), 's').padEnd(30)} ${fmt(segments / t).padStart(7)} segments/s  ${rate}   ` +
            `cpu ${fmt(spread(rs.map((r) => r.cpu)).median, 2)} s, server ${fmt(spread(rs.map((r) => r.serverCpu)).median, 2)} s   peak RSS ${fmt(spread(rs.map((r) => r.rss)).max / MB, 1)} MB`,
        );
      }
      if (tools.length === 2) {
        const d = runs[s.key].drover.map((r) => r.seconds);
        const r = runs[s.key].rclone.map((r) => r.seconds);
        const perRound = d.map((x, i) => `${fmt((r[i] as number) / x, 2)}x`).join(', ');
        say(`  ratio drover/rclone speed ${fmt(spread(r).median / spread(d).median, 2)}x (per round ${perRound}) (target ≥ ${fmt(SPEED_TARGET, 2)}x)`);
      }
    }
    const rss = spread(runs.full.drover.map((r) => r.rss)).max;
    say(`drover mirror peak RSS, full pass: ${fmt(rss / MB, 1)} MB, the most of ${rounds} rounds (target < ${fmt(RSS_TARGET / MB)} MB)`);
    const full = spread(runs.full.drover.map((r) => r.seconds)).median;
    say(`cp -r of the tree: ${describeSpread(cp, 's')}; drover's full pass takes ${fmt(full / spread(cp).median, 2)}x its time (${fmt((100 * spread(cp).median) / full)} % of its speed)`);

    for (const c of o.sweep ?? []) {
      const r = await once('drover', 'full', [], c);
      say(`  sweep: drover full pass --concurrency ${String(c).padEnd(3)} ${fmt(r.seconds, 2)} s  ${fmt(segments / r.seconds).padStart(6)} segments/s  cpu ${fmt(r.cpu, 2)} s, server ${fmt(r.serverCpu, 2)} s  peak RSS ${fmt(r.rss / MB, 1)} MB`);
    }
  } finally {
    await server.stop();
    await nginx?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
