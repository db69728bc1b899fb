import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DroverClient } from '../src/client/drover-client.js';
import type { Proc } from './drover-procs.js';

/** What every scenario of `npm run chaos` has to say, and the ledger jobs most of them run. */

export interface Row {
  scenario: string;
  runs: number;
  /** Jobs, lost, duplicated and recovery: null where the scenario runs no ledger jobs (fuzz). */
  jobs: number | null;
  lost: number | null;
  duplicated: number | null;
  /** The longest time from a fault's end until jobs finished again, ms. */
  maxRecoveryMs: number | null;
  /** Broken properties (fuzz): a 5xx, no answer, an error not of the documented shape. */
  failures?: number;
  note: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A scenario's directory: drover.yaml with the ledger template, the ledger file, the data. */
export function setup(name: string, server: string): { dir: string; ledger: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `drover-chaos-${name}-`));
  const ledger = path.join(dir, 'ledger.txt');
  fs.writeFileSync(ledger, '');
  fs.writeFileSync(
    path.join(dir, 'drover.yaml'),
    `${server}
templates:
  ledger:
    argv: [/bin/sh, -c, 'printf "%s %s start\\n" "$1" "$2" >> "$3"; sleep "$4"; printf "%s %s end\\n" "$1" "$2" >> "$3"', ledger, "{id}", "{attempt}", ${JSON.stringify(ledger)}, "{seconds}"]
    params: { seconds: { default: "0.05" } }
`,
  );
  return { dir, ledger };
}

/** Lost and duplicated jobs: the ledger's "end" lines against the store's states. */
export async function check(client: DroverClient, ledger: string, ids: string[]): Promise<{ lost: number; duplicated: number; notFinal: number }> {
  const ends = new Map<string, number>();
  for (const line of fs.readFileSync(ledger, 'utf8').split('\n')) {
    const [id, , what] = line.split(' ');
    if (id && what === 'end') ends.set(id, (ends.get(id) ?? 0) + 1);
  }
  let lost = 0;
  let duplicated = 0;
  let notFinal = 0;
  for (const id of ids) {
    const job = (await client.get(id)).job;
    if (!['succeeded', 'failed', 'timed_out', 'canceled'].includes(job.state)) notFinal++;
    if (job.state !== 'succeeded') process.stderr.write(`chaos: job ${id} is ${job.state} after attempt ${job.attempt}: ${job.error ?? ''}\n`);
    const n = ends.get(id) ?? 0;
    if (job.state !== 'succeeded' || n === 0) lost++;
    if (n > 1) duplicated++;
  }
  return { lost, duplicated, notFinal };
}

export async function enqueueLedgerJobs(client: DroverClient, n: number, seconds: string): Promise<string[]> {
  const ids: string[] = [];
  // Attempts enough for a job whose worker is killed under it again and again: a lost lease counts as one.
  for (let i = 0; i < n; i += 1000) ids.push(...(await client.enqueueManyIds(Array.from({ length: Math.min(1000, n - i) }, () => ({ template: 'ledger', params: { seconds }, maxAttempts: 10 })))));
  return ids;
}

/** Resolves once no job is left to run (none waiting, queued, running or awaiting children), or after `ms`. */
export async function untilFinal(client: DroverClient, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const c = await client.counts({}).catch(() => null);
    if (c && c.waiting + c.queued + c.running + c.awaiting_children === 0) return;
    await sleep(250);
  }
}

/**
 * Time from `since` (a restart) until a probe job enqueued then has run on a worker, ms: the
 * coordinator answers, the workers lease from it again. Ahead of the queue (priority), so the
 * backlog does not count. A bound: `ms`.
 */
export async function recovery(client: DroverClient, since: number, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let id: string | null = null;
  while (Date.now() < end) {
    id ??= await client.enqueue({ template: 'ledger', params: { seconds: '0' }, priority: 100, tags: ['probe'] }).then((j) => j.id, () => null);
    if (id && (await client.get(id).catch(() => null))?.job.state === 'succeeded') return Date.now() - since;
    await sleep(25);
  }
  return Date.now() - since;
}


/** The processes whose command line names `text` (a scenario's ledger or directory): left behind when the workers are gone. */
export function processesNaming(text: string): number {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).length;
}

/**
 * Kills `procs[k % n]` with SIGKILL `kills` times, one every `everyMs`; after each, `afterKill`
 * (given the index and when it died) starts it again and says how long recovery took, ms.
 * Returns the longest.
 */
export async function killInTurn(procs: Proc[], kills: number, everyMs: number, afterKill: (i: number, killedAt: number) => Promise<number>): Promise<number> {
  let max = 0;
  for (let k = 0; k < kills; k++) {
    await sleep(everyMs);
    const i = k % procs.length;
    const victim = procs[i] as Proc;
    victim.child.kill('SIGKILL');
    await new Promise((r) => victim.child.once('exit', r));
    max = Math.max(max, await afterKill(i, Date.now()));
  }
  return max;
}
