import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DroverClient } from '../src/client/drover-client.js';
import { downloadRequestXml, parseSearchResult, searchRequestXml } from '../src/runners/hikvision/isapi-xml.js';
import { startIsapiSim, type IsapiSim, type SimClip } from '../test/support/isapi-sim.js';
import { startDrover } from './drover-procs.js';
import { describeSpread, fmt, spread } from './stats.js';

const NVRS = 4;
const CAMERAS = ['101', '201'];
const CLIPS_PER_CAMERA = 6;
/** Each connection of a simulated NVR is paced to this, bytes per second: NVRs serve playback slowly. */
const PACE = 4e6;
const SPEED_TARGET = 2.5;
const say = (text: string): void => void process.stdout.write(`${text}\n`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Nvr {
  sim: IsapiSim;
  clips: SimClip[];
  password: string;
}

/** Runs `cmd`; rejects on a non-zero exit with its stderr. */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${err.slice(-500)}`))));
  });
}

/**
 * The sequential downloader, as the task server ran hikload: two clients, each taking the next
 * NVR and fetching its clips one at a time (`curl --digest`, the download request as its body).
 */
async function sequential(nvrs: Nvr[], out: string): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < nvrs.length) {
      const n = nvrs[next++] as Nvr;
      const auth = ['--digest', '-u', `admin:${n.password}`, '-sS', '--fail'];
      const xml = path.join(out, `search-${next}.xml`);
      const found = [];
      for (const track of CAMERAS) {
        const body = searchRequestXml({ searchId: `S${next}${track}`, tracks: [track], start: '2021-08-18T00:00:00Z', end: '2021-08-18T23:59:59Z', position: 0, maxResults: 64, trackElement: 'trackIDList', ns: 'ver20' });
        await run('curl', [...auth, '-X', 'POST', '-H', 'Content-Type: application/xml', '--data-binary', body, '-o', xml, `${n.sim.url}/ISAPI/ContentMgmt/search`]);
        found.push(...parseSearchResult(fs.readFileSync(xml, 'utf8')).matches);
      }
      for (const m of found) {
        const file = path.join(out, new URL(n.sim.url).port, `${m.trackId}-${m.start.replace(/\D/g, '')}.mp4`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await run('curl', [...auth, '-X', 'GET', '-H', 'Content-Type: application/xml', '--data-binary', downloadRequestXml(m.playbackUri, 'ver20'), '-o', file, `${n.sim.url}/ISAPI/ContentMgmt/download`]);
      }
    }
  };
  await Promise.all([client(), client()]);
}

/** Every clip of every NVR below `root`, byte-exact (by sha256), each once; names the first that is not. */
function check(nvrs: Nvr[], root: string, what: string): void {
  const files = (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter((d) => d.isFile() && d.name.endsWith('.mp4'));
  const want = new Map(nvrs.flatMap((n) => n.clips.map((c) => [sha(c.data), c] as const)));
  const seen = new Set<string>();
  for (const f of files) {
    const h = sha(fs.readFileSync(path.join(f.parentPath ?? f.path, f.name)));
    if (!want.has(h)) throw new Error(`${what}: ${f.name} is no clip of any NVR`);
    if (seen.has(h)) throw new Error(`${what}: ${f.name} delivered twice`);
    seen.add(h);
  }
  if (seen.size !== want.size) throw new Error(`${what}: ${seen.size} of ${want.size} clips delivered`);
}

/**
 * `npm run bench -- --suite hikvision`: 4 simulated NVRs × 2 cameras × 6 clips of `clipMB` MB,
 * each connection paced to 4 MB/s. Drover: one hikvision job per NVR on two workers (2 jobs
 * each, 2 clips at once per NVR). Against it: two clients fetching one NVR's clips one at a time
 * with curl, as the task server ran hikload. Every clip's sha256 is checked, both sides.
 */
export async function hikvisionSuite(o: { rounds?: number; clipMB?: number } = {}): Promise<void> {
  const rounds = o.rounds ?? 3;
  const size = Math.round((o.clipMB ?? 20) * 1e6);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-hikbench-'));
  const t0 = new Date('2021-08-18T00:00:00Z').getTime();
  const nvrs: Nvr[] = [];
  for (let i = 0; i < NVRS; i++) {
    const clips = CAMERAS.flatMap((track) =>
      Array.from({ length: CLIPS_PER_CAMERA }, (_, k) => {
        const start = t0 + (k * 3 + (track === '101' ? 0 : 1)) * 600_000;
        return { track, start: new Date(start).toISOString().replace('.000', ''), end: new Date(start + 600_000).toISOString().replace('.000', ''), data: randomBytes(size) };
      }),
    );
    const password = `bench-${i}`;
    nvrs.push({ sim: await startIsapiSim(clips, { password, bytesPerSecond: PACE }), clips, password });
  }
  const total = NVRS * CAMERAS.length * CLIPS_PER_CAMERA;
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(dir, 'drover.yaml'), `worker:\n  destinations: { out: ${JSON.stringify(out)} }\n`);
  const server = await startDrover(['server', '--port', '0', '--data', path.join(dir, 'data')], dir, /coordinator on (http:\/\/[^\s"]+)/);
  const url = server.match[1] as string;
  const workers = await Promise.all(['w1', 'w2'].map((name) => startDrover(['worker', '--server', url, '--name', name, '--concurrency', '2'], dir, /pulling from/)));
  const api = new DroverClient({ server: url });
  const times = { drover: [] as number[], sequential: [] as number[] };
  try {
    say(`hikvision benchmark: ${NVRS} simulated NVRs × ${CAMERAS.length} cameras × ${CLIPS_PER_CAMERA} clips of ${fmt(size / 1e6)} MB (${fmt((total * size) / 1e6)} MB), each connection paced to ${fmt(PACE / 1e6)} MB/s; drover: a job per NVR on 2 workers; sequential: 2 clients, one clip at a time per NVR (curl --digest); ${rounds} rounds; ${os.availableParallelism()} cores`);
    for (let round = 1; round <= rounds; round++) {
      const sub = `round-${round}`;
      const start = performance.now();
      const ids = await Promise.all(nvrs.map(async (n) => (await api.enqueue({ kind: 'hikvision', params: { server: new URL(n.sim.url).host, user: 'admin', password: n.password, cameras: CAMERAS.join(','), start: '2021-08-18T00:00:00Z', end: '2021-08-18T23:59:59Z', dest: `out:${sub}` } })).id));
      for (const id of ids) {
        const job = await api.wait(id);
        if (job.state !== 'succeeded') throw new Error(`drover hikvision job ${job.state}: ${job.error}`);
      }
      times.drover.push((performance.now() - start) / 1000);
      check(nvrs, path.join(out, sub), 'drover');
      const seqDir = path.join(dir, `seq-${round}`);
      fs.mkdirSync(seqDir);
      const s0 = performance.now();
      await sequential(nvrs, seqDir);
      times.sequential.push((performance.now() - s0) / 1000);
      check(nvrs, seqDir, 'sequential');
      fs.rmSync(seqDir, { recursive: true, force: true });
      fs.rmSync(path.join(out, sub), { recursive: true, force: true });
      say(`  round ${round}/${rounds}: drover ${fmt(times.drover.at(-1) as number, 1)} s, sequential ${fmt(times.sequential.at(-1) as number, 1)} s, ratio ${fmt((times.sequential.at(-1) as number) / (times.drover.at(-1) as number), 2)}x`);
    }
    const mb = (total * size) / 1e6;
    for (const [name, xs] of Object.entries(times)) say(`  ${name.padEnd(10)} ${describeSpread(xs, 's', 1).padEnd(28)} ${fmt(mb / spread(xs).median, 1)} MB/s, every clip's sha256 checked`);
    const ratios = times.drover.map((d, i) => (times.sequential[i] as number) / d);
    say(`  ratio drover/sequential speed ${fmt(spread(times.sequential).median / spread(times.drover).median, 2)}x (per round ${ratios.map((r) => `${fmt(r, 2)}x`).join(', ')}) (target ≥ ${fmt(SPEED_TARGET, 2)}x)`);
  } finally {
    await api.close();
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
    await Promise.all(nvrs.map((n) => n.sim.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
