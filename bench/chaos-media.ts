import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DroverClient } from '../src/client/drover-client.js';
import { freePort, killInTurn, processesNaming, sleep, type Row } from './chaos-ledger.js';
import { startDrover, type Proc } from './drover-procs.js';
import { makeFile, startNginx } from './nginx.js';

export interface MediaKillOptions {
  downloads: number;
  ffmpegs: number;
  kills: number;
  /** Size of each downloaded file, MiB. */
  sizeMb: number;
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * One of 3 workers killed with SIGKILL `kills` times (and started again) while they run
 * downloads from a real nginx (paced, so each takes seconds) and supervised ffmpeg jobs: every
 * job ends succeeded, once; each download's file has its SHA-256; the downloads resume on
 * whichever worker takes them next (the workers share `download.tempdir`), so the bytes nginx
 * sent stay near the files' size; no ffmpeg is left running.
 */
export async function mediaWorkerKill(o: MediaKillOptions): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-chaos-media-'));
  const files = path.join(dir, 'files');
  const out = path.join(dir, 'out');
  fs.mkdirSync(files);
  fs.mkdirSync(out);
  const sums = new Map<string, string>();
  for (let i = 0; i < o.downloads; i++) {
    const f = path.join(files, `f${i}.bin`);
    makeFile(f, o.sizeMb * 2 ** 20);
    sums.set(`f${i}.bin`, sha256(f));
  }
  // 4 MiB/s a request, so kills land in the middle of downloads.
  const nginx = await startNginx(files, { limitRate: '4m' });
  fs.writeFileSync(
    path.join(dir, 'drover.yaml'),
    `server:
  lease_ttl: 3s
  heartbeat_interval: 500ms
worker:
  destinations: { out: ${JSON.stringify(out)} }
  download: { tempdir: ${JSON.stringify(path.join(dir, 'tmp'))} }
templates:
  clip:
    kind: ffmpeg
    argv: [ffmpeg, -hide_banner, -nostdin, -y, -re, -f, lavfi, -i, "testsrc=size=320x240:rate=25", -t, "4", -c:v, mpeg4, ${JSON.stringify(`${out}/{name}.mkv`)}]
`,
  );
  const port = await freePort();
  const server = await startDrover(['server', '--port', String(port), '--data', path.join(dir, 'data')], dir, /coordinator on (http:\/\/[^\s"]+)/);
  const url = `http://127.0.0.1:${port}`;
  const startWorker = (name: string) => startDrover(['worker', '--server', url, '--name', name, '--concurrency', '2', '--output-root', path.join(dir, 'worker-out')], dir, /pulling from/);
  const client = new DroverClient({ server: url });
  const workers: Proc[] = [];
  try {
    for (const n of ['w1', 'w2', 'w3']) workers.push(await startWorker(n));
    const ids: string[] = [];
    // Taken in turn, so kills find both kinds running. Two connections a download: at 4 MiB/s
    // each, a file of 48 MiB takes 6 s.
    const downloads = [...sums];
    for (let i = 0; i < Math.max(o.downloads, o.ffmpegs); i++) {
      const d = downloads[i];
      if (d) ids.push((await client.enqueue({ kind: 'download', params: { url: `${nginx.url}/slow/${d[0]}`, dest: 'out', sha256: d[1], connections: 2 }, maxAttempts: 20 })).id);
      if (i < o.ffmpegs) ids.push((await client.enqueue({ template: 'clip', params: { name: `clip${i}` }, maxAttempts: 20 })).id);
    }
    const maxRecoveryMs = await killInTurn(workers, o.kills, 1_500, async (i, killed) => {
      workers[i] = await startWorker(`w${i + 1}`);
      return Date.now() - killed;
    });
    for (const end = Date.now() + 600_000; Date.now() < end; await sleep(250)) {
      const c = await client.counts({});
      if (c.waiting + c.queued + c.running === 0) break;
    }
    let lost = 0;
    let duplicated = 0;
    const cut = { download: 0, ffmpeg: 0 };
    for (const id of ids) {
      const { job, attempts } = await client.get(id);
      if (job.state !== 'succeeded') {
        lost++;
        process.stderr.write(`chaos: job ${id} (${job.kind}) is ${job.state} after attempt ${job.attempt}: ${job.error ?? ''}\n`);
      }
      if (attempts.filter((a) => a.outcome === 'succeeded').length > 1) duplicated++;
      // Attempts a kill cut short: the job ran again.
      cut[job.kind === 'download' ? 'download' : 'ffmpeg'] += Math.max(0, attempts.length - 1);
    }
    let corrupt = 0;
    for (const [name, hex] of sums) if (!fs.existsSync(path.join(out, name)) || sha256(path.join(out, name)) !== hex) corrupt++;
    for (let i = 0; i < o.ffmpegs; i++) if (!(fs.statSync(path.join(out, `clip${i}.mkv`), { throwIfNoEntry: false })?.size ?? 0)) corrupt++;
    for (const w of workers) await w.stop();
    const sent = nginx.sent().filter((r) => r.uri.startsWith('/slow/')).reduce((a, r) => a + r.bytes, 0);
    const ratio = sent / (o.downloads * o.sizeMb * 2 ** 20);
    const left = processesNaming(out);
    return {
      scenario: 'worker SIGKILL (downloads, ffmpeg)',
      runs: o.kills,
      jobs: ids.length,
      lost: lost + corrupt,
      duplicated,
      maxRecoveryMs,
      note: `${o.downloads} downloads of ${o.sizeMb} MiB (${cut.download} attempts cut short), bytes sent ${ratio.toFixed(2)}x the files; ${o.ffmpegs} ffmpeg of 4 s (${cut.ffmpeg} cut short); ${corrupt} files wrong; ${left} processes left behind`,
    };
  } finally {
    for (const w of workers) await w.stop();
    await server.stop();
    await client.close();
    await nginx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
