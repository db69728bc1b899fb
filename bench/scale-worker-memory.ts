import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DroverClient } from '../src/client/drover-client.js';
import type { Params } from '../src/core/job.js';
import { startDrover } from './drover-procs.js';
import { makeFile, startNginx } from './nginx.js';
import { peakRssMB } from './scale-depth.js';

export interface WorkerMemoryFigures {
  slots: number;
  /** Jobs running at once while the RSS was read. */
  running: number;
  /** The worker's RSS while they ran: the greatest sample and its peak (VmHWM), MB. */
  rssMB: number;
  peakRssMB: number;
}

/** The resident set of a live process now (VmRSS), MB. */
function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * A `drover worker` with `slots` slots running as many downloads at once from a real nginx, each
 * paced to `rate` per request (nginx's limit_rate) so they all run together for a while; its RSS
 * is read every 200 ms while all of them run.
 */
export async function workerMemory(o: { slots: number; fileMiB: number; rate: string }): Promise<WorkerMemoryFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-wmem-'));
  const www = path.join(dir, 'www');
  const out = path.join(dir, 'out');
  fs.mkdirSync(www);
  fs.mkdirSync(out);
  makeFile(path.join(www, 'clip.bin'), o.fileMiB * 1024 * 1024);
  const nginx = await startNginx(www, { limitRate: o.rate, accessLog: false });
  fs.writeFileSync(path.join(dir, 'drover.yaml'), `server:\n  search_index: false\nworker:\n  destinations: { out: ${JSON.stringify(out)} }\n  download: { tempdir: ${JSON.stringify(path.join(dir, 'tmp'))}, per_host: ${o.slots}, max_connections: ${o.slots} }\n`);
  const server = await startDrover(['server', '--port', '0', '--data', path.join(dir, 'data')], dir, /coordinator on (http:\/\/[^\s"]+)/);
  const url = server.match[1] as string;
  const worker = await startDrover(['worker', '--server', url, '--name', 'wmem', '--concurrency', String(o.slots)], dir, /pulling from/);
  const api = new DroverClient({ server: url });
  try {
    await api.enqueueMany(Array.from({ length: o.slots }, (_, i) => ({ kind: 'download', params: { url: `${nginx.url}/slow/clip.bin`, dest: 'out', filename: `clip-${i}.bin`, connections: 1 } as Params })));
    const pid = worker.child.pid as number;
    let running = 0;
    while ((running = (await api.counts()).running) < o.slots) await new Promise((r) => setTimeout(r, 50));
    let max = 0;
    // Read while all of them run: downloads start in the first seconds and end together.
    for (let i = 0; i < 25 && (await api.counts()).running === o.slots; i++) {
      max = Math.max(max, rssMB(pid));
      await new Promise((r) => setTimeout(r, 200));
    }
    return { slots: o.slots, running, rssMB: max, peakRssMB: peakRssMB(pid) };
  } finally {
    await api.close();
    await worker.stop();
    await server.stop();
    await nginx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
