import { bullmqDepth, graphileDepth } from './scale-anchors.js';
import { droverDepth, type DepthFigures, type RoundSize } from './scale-depth.js';
import { manyWorkers } from './scale-workers.js';
import { workerMemory } from './scale-worker-memory.js';
import { retentionAtScale, type RetentionFigures } from './scale-retention.js';
import { withFreshDatabase } from './pg-db.js';
import { describeSpread, fmt, spread } from './stats.js';

export interface ScaleOptions {
  /** Rounds at each depth and system (default 3). */
  rounds: number;
  /** The deep queue (default 1,000,000) and the shallow one it is compared with (default 1,000). */
  depth: number;
  shallow: number;
  cycles: number;
  run: number;
  /** Simulated workers (default 1,000), their job's length, ms (default 1,000), jobs each (default 10). */
  workers: number;
  jobMs: number;
  jobsPerWorker: number;
  /** Which parts: depth-sqlite, depth-pg, bullmq, graphile, workers, worker-memory, retention (default all). */
  parts: string[];
}

const out = (s: string) => process.stdout.write(`${s}\n`);

/**
 * `npm run bench -- --suite scale`: Drover's costs against queue depth and worker count, next to
 * BullMQ and Graphile Worker at the same depths. Each system and depth runs `rounds` times; the
 * medians are printed with the spread of the rounds.
 */
export async function scaleSuite(o: ScaleOptions): Promise<void> {
  out(`scale: depth ${fmt(o.shallow)} and ${fmt(o.depth)} queued behind ${fmt(o.cycles)} one-at-a-time jobs and a run of ${fmt(o.run)}; ${o.rounds} rounds each`);
  const want = (p: string) => o.parts.length === 0 || o.parts.includes(p);
  const at = (depth: number): RoundSize => ({ depth, cycles: o.cycles, run: o.run });
  const results: Record<string, { shallow: DepthFigures[]; deep: DepthFigures[] }> = {};
  const measure = async (name: string, fn: (size: RoundSize) => Promise<DepthFigures>) => {
    const r = { shallow: [] as DepthFigures[], deep: [] as DepthFigures[] };
    for (let i = 0; i < o.rounds; i++) {
      r.shallow.push(await fn(at(o.shallow)));
      r.deep.push(await fn(at(o.depth)));
      out(`  ${name} round ${i + 1}: ${line(r.shallow[i] as DepthFigures)} | ${line(r.deep[i] as DepthFigures)}`);
    }
    results[name] = r;
    report(name, r.shallow, r.deep);
  };
  if (want('depth-sqlite')) await measure('drover SQLite', (s) => droverDepth(s));
  if (want('bullmq')) await measure('bullmq (Redis)', (s) => bullmqDepth(s));
  if (want('depth-pg')) await measure('drover PostgreSQL', (s) => withFreshDatabase((db) => droverDepth(s, { db })));
  if (want('graphile')) await measure('graphile-worker', (s) => withFreshDatabase((db) => graphileDepth(db, s)));
  ratios(results, 'drover SQLite', 'bullmq (Redis)');
  ratios(results, 'drover PostgreSQL', 'graphile-worker');
  if (want('workers')) {
    const runs = [];
    for (let i = 0; i < o.rounds; i++) {
      const f = await manyWorkers({ workers: o.workers, jobMs: o.jobMs, jobsPerWorker: o.jobsPerWorker, idleSeconds: 10, singles: 100 });
      out(`  ${fmt(f.workers)} workers round ${i + 1}: utilisation ${fmt(100 * f.utilisation, 1)} % (${fmt(100 * f.utilisationWhole, 1)} % with the wake and the drain), outcome→next job p50 ${fmt(f.handoffP50Ms, 2)} ms p99 ${fmt(f.handoffP99Ms, 1)} ms, idle coordinator ${fmt(f.idleCpuPct, 2)} % of a core (alone ${fmt(f.aloneCpuPct, 2)} %), ${fmt(f.wakeupsPerEnqueue, 2)} wake-ups per enqueue, RSS ${fmt(f.coordinatorRssMB)} MB`);
      runs.push(f);
    }
    out(`${fmt(o.workers)} simulated workers (1 slot each, long-polling, jobs of ${fmt(o.jobMs)} ms), SQLite:`);
    out(`  utilisation          ${describeSpread(runs.map((r) => 100 * r.utilisation), '%', 1)}   (target ≥ 95 %; while jobs were queued: enqueue committed to last lease)`);
    out(`    first enqueue to last outcome ${describeSpread(runs.map((r) => 100 * r.utilisationWhole), '%', 1)} (the idle workers' wake and the drain included)`);
    out(`  outcome→next job     p50 ${describeSpread(runs.map((r) => r.handoffP50Ms), 'ms')}, p99 ${describeSpread(runs.map((r) => r.handoffP99Ms), 'ms')}`);
    out(`  idle coordinator     ${describeSpread(runs.map((r) => r.idleCpuPct), '% of a core', 2)}; with no worker at all ${describeSpread(runs.map((r) => r.aloneCpuPct), '%', 2)}`);
    const share = runs.map((r) => r.idleCpuPct - r.aloneCpuPct);
    out(`    the idle workers' share ${fmt(med(share), 2)} % of a core (${fmt(Math.min(...share), 2)} to ${fmt(Math.max(...share), 2)})   (target < 1 %)`);
    out(`  wake-ups per enqueue ${describeSpread(runs.map((r) => r.wakeupsPerEnqueue), '', 2)}   (target 1: no thundering herd)`);
    out(`  coordinator RSS      ${describeSpread(runs.map((r) => r.coordinatorRssMB), 'MB', 0)}`);
  }
  if (want('retention')) {
    for (const [name, db] of [['SQLite', undefined], ['PostgreSQL', 'pg']] as const) {
      const runs: RetentionFigures[] = [];
      for (let i = 0; i < o.rounds; i++) runs.push(db ? await withFreshDatabase((url) => retentionAtScale({ finished: o.depth, samples: o.cycles, db: url })) : await retentionAtScale({ finished: o.depth, samples: o.cycles }));
      out(`retention on ${name}: deleting ${fmt(o.depth)} finished jobs (POST /jobs/purge: batches of 1,000 on PostgreSQL; on SQLite of about 1 ms each, requests answered in between) took ${describeSpread(runs.map((r) => r.purgeSeconds), 's', 1)} (${fmt(med(runs.map((r) => r.deletedPerSec)))} jobs/s)`);
      out(`  lease call before p50 ${describeSpread(runs.map((r) => r.before.p50), 'ms')}, p99 ${describeSpread(runs.map((r) => r.before.p99), 'ms')}`);
      out(`  while it ran     p50 ${describeSpread(runs.map((r) => r.during.p50), 'ms')}, p99 ${describeSpread(runs.map((r) => r.during.p99), 'ms')} (${fmt(med(runs.map((r) => r.during.samples)))} samples; SQLite target p99 ≤ 5 ms)`);
    }
  }
  if (want('worker-memory')) {
    const runs = [];
    for (let i = 0; i < o.rounds; i++) runs.push(await workerMemory({ slots: 64, fileMiB: 64, rate: '4m' }));
    out(`a worker with 64 slots running 64 downloads at once (nginx, 4 MB/s each): RSS ${describeSpread(runs.map((r) => r.rssMB), 'MB', 0)}, peak ${describeSpread(runs.map((r) => r.peakRssMB), 'MB', 0)}`);
  }
}

function line(f: DepthFigures): string {
  const reads = f.reads ? `, counts ${fmt(f.reads.counts.p50, 1)} ms` : '';
  return `depth ${fmt(f.depth)}: ${fmt(f.enqueuePerSec)} enq/s, cycle p50 ${fmt(f.cycleP50Ms, 2)} p99 ${fmt(f.cycleP99Ms, 2)} ms, ${fmt(f.jobsPerSec)} jobs/s${f.coordinatorRssMB ? `, RSS ${fmt(f.coordinatorRssMB)} MB` : ''}${reads}`;
}

const med = (xs: number[]) => spread(xs).median;

function report(name: string, shallow: DepthFigures[], deep: DepthFigures[]): void {
  const d = (xs: DepthFigures[], f: (x: DepthFigures) => number, unit: string, digits = 2) => describeSpread(xs.map(f), unit, digits);
  out(`${name}:`);
  out(`  enqueue                  ${d(deep, (x) => x.enqueuePerSec, 'jobs/s', 0)}`);
  for (const [label, xs] of [['shallow', shallow], ['deep', deep]] as const) {
    out(`  ${label.padEnd(7)} ${fmt(xs[0]?.depth ?? 0).padStart(9)} queued: one at a time p50 ${d(xs, (x) => x.cycleP50Ms, 'ms')}, p99 ${d(xs, (x) => x.cycleP99Ms, 'ms')}; throughput ${d(xs, (x) => x.jobsPerSec, 'jobs/s', 0)}`);
    if (xs[0]?.leaseP50Ms !== undefined) out(`          of which the lease call: p50 ${d(xs, (x) => x.leaseP50Ms ?? NaN, 'ms')}, p99 ${d(xs, (x) => x.leaseP99Ms ?? NaN, 'ms')}`);
    if (xs[0]?.oneRequestP50Ms !== undefined) out(`          outcome and next lease in one request: p50 ${d(xs, (x) => x.oneRequestP50Ms ?? NaN, 'ms')}, p99 ${d(xs, (x) => x.oneRequestP99Ms ?? NaN, 'ms')}`);
  }
  if (deep[0]?.leaseP99Ms !== undefined) out(`  lease deep/shallow: p50 ${fmt(med(deep.map((x) => x.leaseP50Ms ?? NaN)) / med(shallow.map((x) => x.leaseP50Ms ?? NaN)), 2)}x, p99 ${fmt(med(deep.map((x) => x.leaseP99Ms ?? NaN)) / med(shallow.map((x) => x.leaseP99Ms ?? NaN)), 2)}x`);
  out(`  deep/shallow: p50 ${fmt(med(deep.map((x) => x.cycleP50Ms)) / med(shallow.map((x) => x.cycleP50Ms)), 2)}x, p99 ${fmt(med(deep.map((x) => x.cycleP99Ms)) / med(shallow.map((x) => x.cycleP99Ms)), 2)}x, throughput ${fmt(med(shallow.map((x) => x.jobsPerSec)) / med(deep.map((x) => x.jobsPerSec)), 2)}x slower (target ≤ 1.5x)`);
  const rss = deep.flatMap((x) => (x.coordinatorRssMB ? [x.coordinatorRssMB] : []));
  if (rss.length > 0) out(`  coordinator peak RSS at ${fmt(deep[0]?.depth ?? 0)}: ${describeSpread(rss, 'MB', 0)} (target ≤ 250 MB)`);
  const reads = deep.flatMap((x) => (x.reads ? [x.reads] : []));
  if (reads.length > 0) {
    out(`  at ${fmt(deep[0]?.depth ?? 0)}: /jobs/counts p50 ${describeSpread(reads.map((r) => r.counts.p50), 'ms')} (target ≤ 10 ms), p99 ${fmt(med(reads.map((r) => r.counts.p99)), 2)} ms`);
    out(`    first page state=queued ${describeSpread(reads.map((r) => r.queued.p50), 'ms')}, owner=X ${describeSpread(reads.map((r) => r.owner.p50), 'ms')} (target ≤ 50 ms)`);
  }
}

function ratios(results: Record<string, { deep: DepthFigures[] }>, drover: string, peer: string): void {
  const a = results[drover]?.deep;
  const b = results[peer]?.deep;
  if (!a || !b) return;
  const p99 = (xs: DepthFigures[]) => med(xs.map((x) => x.oneRequestP99Ms ?? x.cycleP99Ms));
  const p50 = (xs: DepthFigures[]) => med(xs.map((x) => x.oneRequestP50Ms ?? x.cycleP50Ms));
  out(`${drover} (one request a job) / ${peer} at ${fmt(a[0]?.depth ?? 0)}: one at a time p50 ${fmt(p50(a), 2)} / ${fmt(p50(b), 2)} ms = ${fmt(p50(a) / p50(b), 2)}x, p99 ${fmt(p99(a), 2)} / ${fmt(p99(b), 2)} ms = ${fmt(p99(a) / p99(b), 2)}x (target < 1); throughput ${fmt(med(a.map((x) => x.jobsPerSec)) / med(b.map((x) => x.jobsPerSec)), 2)}x (target ≥ 2)`);
}
