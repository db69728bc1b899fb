import { benchBullmq } from './bullmq-bench.js';
import { dashboardSuite } from './dashboard-bench.js';
import { downloadSuite } from './download-bench.js';
import { benchGraphile } from './graphile-bench.js';
import { hikvisionSuite } from './hikvision-bench.js';
import { mirrorSuite } from './mirror-bench.js';
import { withFreshDatabase } from './pg-db.js';
import { benchDrover, type QueueFigures } from './queue-bench.js';
import { fmt } from './stats.js';
import { searchSuite } from './search-bench.js';
import { superviseSuite } from './supervise-bench.js';
import { describeSplit } from './latency-split.js';
import { scaleSuite } from './scale-bench.js';

/**
 * `npm run bench`: Drover and its anchors side by side in one run, on this machine.
 * --suite sqlite|pg|download|supervise|mirror|hikvision|dashboard|all (default all, in that order):
 * - sqlite: Drover on SQLite next to BullMQ; pg: PostgreSQL with 1 and 3 coordinators next to
 *   Graphile Worker. --jobs N (default 100000), --samples N (latency samples, default 500),
 *   --bullmq-concurrency N (default 16), --only drover|bullmq.
 * - download: downloads next to curl and aria2c. --big-mib / --slow-mib size the files, --rounds N
 *   runs each pair N times (default 5), --connections N is Drover's for the rate-limited file
 *   (default 32).
 * - supervise: `drover run`'s CPU and memory. --seconds N (CPU window, default 30), --mem-seconds N
 *   (default 20).
 * - mirror: `drover mirror` from `drover segments serve` next to `rclone copy` from nginx's
 *   autoindex on a wubloader segment tree (full pass, nothing missing, 1 % missing), and `cp -r`.
 *   --rounds N (default 3), --segments N (default 10000), --segment-kib N (default 20),
 *   --mirror-concurrency N (default 8), --sweep 1,4,16 (then one full pass at each concurrency).
 * - hikvision: hikvision jobs on 2 workers next to a sequential curl downloader, on 4 simulated
 *   NVRs paced to 4 MB/s a connection. --rounds N (default 3), --clip-mb N (default 20).
 * - dashboard: the web dashboard's jobs table (GET /jobs?limit=50 with its filters, counts, stats)
 *   over HTTP on a SQLite store of --dashboard-jobs N jobs (default 1000000), next to bull-board's
 *   calls on BullMQ with as many waiting jobs. --rounds N (default 5), --dashboard-samples N
 *   (samples per request and round, default 5), --skip-anchor (no BullMQ), --no-search-index (the
 *   coordinator with server.search_index off; on is SQLite's default).
 * - search: the jobs table's text search on --search-jobs N jobs (default 1000000) without and with
 *   server.search_index, on --backends sqlite,pg (default both). --rounds N (default 5),
 *   --search-samples N (default 5). Not part of `all`: it fills each backend with a million jobs.
 * - scale: Drover on SQLite and PostgreSQL with --depth N queued (default 1000000) against
 *   --shallow N (default 1000), next to BullMQ and Graphile Worker at the same depths: one
 *   consumer taking one job at a time (--cycles N, default 2000), then a throughput run of --run N
 *   jobs (default 20000); the coordinator's RSS, counts and first pages at depth. Then --workers N
 *   simulated workers (default 1000) with jobs of --job-ms (default 1000), --jobs-per-worker
 *   (default 10); the lease call while --depth finished jobs are purged; a worker with 64 slots
 *   running 64 downloads, its RSS. --rounds N (default 3), --parts depth-sqlite,bullmq,depth-pg,
 *   graphile,workers,retention,worker-memory (default all). Not part of `all`: it fills each system with a million jobs per round.
 */
async function main(argv: string[]): Promise<void> {
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : dflt;
  };
  const jobs = Number(opt('jobs', '100000'));
  const samples = Number(opt('samples', '500'));
  const only = opt('only', '');
  const concurrency = Number(opt('bullmq-concurrency', '16'));
  const suite = opt('suite', 'all');
  process.stdout.write(`queue benchmark: ${fmt(jobs)} no-op jobs, ${samples} latency samples, ${process.version}, ${(await import('node:os')).availableParallelism()} cores\n`);
  let drover: QueueFigures | null = null;
  let bull: QueueFigures | null = null;
  if (suite === 'all' || suite === 'sqlite') {
  if (only !== 'bullmq') {
    drover = await benchDrover(jobs, samples);
    print('drover (SQLite, HTTP, 1 worker process)', drover);
  }
  if (only !== 'drover') {
    try {
      bull = await benchBullmq(jobs, samples, concurrency);
      print(`bullmq (local Redis, concurrency ${concurrency})`, bull);
    } catch (err) {
      process.stdout.write(`bullmq: not run (${(err as Error).message}); is Redis on 127.0.0.1:6379?\n`);
    }
  }
  if (drover && bull) {
    process.stdout.write(`ratio drover/bullmq throughput: ${fmt(drover.jobsPerSec / bull.jobsPerSec, 2)}x (target ≥ 2.00x)\n`);
  }
  if (drover) process.stdout.write(`drover p50 enqueue→start ${fmt(drover.p50Ms, 2)} ms (target ≤ 3 ms)\n`);
  }
  if (suite === 'all' || suite === 'pg') await pgSuite(jobs, samples);
  if (suite === 'all' || suite === 'download') await downloadSuite({ bigMiB: Number(opt('big-mib', '1024')), slowMiB: Number(opt('slow-mib', '256')), rounds: Number(opt('rounds', '5')), connections: Number(opt('connections', '32')) });
  if (suite === 'all' || suite === 'supervise') await superviseSuite({ seconds: Number(opt('seconds', '30')), memSeconds: Number(opt('mem-seconds', '20')) });
  if (suite === 'all' || suite === 'mirror') {
    const sweep = opt('sweep', '').split(',').filter(Boolean).map(Number);
    await mirrorSuite({ rounds: Number(opt('rounds', '3')), segments: Number(opt('segments', '10000')), sizeKiB: Number(opt('segment-kib', '20')), concurrency: Number(opt('mirror-concurrency', '8')), sweep });
  }
  if (suite === 'all' || suite === 'hikvision') await hikvisionSuite({ rounds: Number(opt('rounds', '3')), clipMB: Number(opt('clip-mb', '20')) });
  if (suite === 'all' || suite === 'dashboard') await dashboardSuite({ jobs: Number(opt('dashboard-jobs', '1000000')), rounds: Number(opt('rounds', '5')), samples: Number(opt('dashboard-samples', '5')), skipAnchor: argv.includes('--skip-anchor'), searchIndex: !argv.includes('--no-search-index') });
  if (suite === 'search') {
    const backends = opt('backends', 'sqlite,pg').split(',').filter((b): b is 'sqlite' | 'pg' => b === 'sqlite' || b === 'pg');
    await searchSuite({ jobs: Number(opt('search-jobs', '1000000')), rounds: Number(opt('rounds', '5')), samples: Number(opt('search-samples', '5')), backends });
  }
  if (suite === 'scale') {
    await scaleSuite({
      rounds: Number(opt('rounds', '3')),
      depth: Number(opt('depth', '1000000')),
      shallow: Number(opt('shallow', '1000')),
      cycles: Number(opt('cycles', '2000')),
      run: Number(opt('run', '20000')),
      workers: Number(opt('workers', '1000')),
      jobMs: Number(opt('job-ms', '1000')),
      jobsPerWorker: Number(opt('jobs-per-worker', '10')),
      parts: opt('parts', '').split(',').filter(Boolean),
    });
  }
  process.exit(0);
}

/** PostgreSQL: Drover with 1 and 3 coordinators and Graphile Worker (concurrency 24), each on a fresh database. */
async function pgSuite(jobs: number, samples: number): Promise<void> {
  const one = await withFreshDatabase((url) => benchDrover(jobs, samples, { db: url }));
  print('drover (PostgreSQL, 1 coordinator)', one);
  const three = await withFreshDatabase((url) => benchDrover(jobs, samples, { db: url, coordinators: 3 }));
  print('drover (PostgreSQL, 3 coordinators)', three);
  const graphile = await withFreshDatabase((url) => benchGraphile(url, jobs, samples, 24));
  print('graphile-worker 0.16 (concurrency 24)', graphile);
  process.stdout.write(`ratio drover/graphile throughput: 1 coordinator ${fmt(one.jobsPerSec / graphile.jobsPerSec, 2)}x, 3 coordinators ${fmt(three.jobsPerSec / graphile.jobsPerSec, 2)}x (target ≥ 5.00x)\n`);
}

function print(name: string, f: QueueFigures): void {
  process.stdout.write(`${name.padEnd(44)} ${fmt(f.jobsPerSec).padStart(8)} jobs/s   enqueue→start p50 ${fmt(f.p50Ms, 2)} ms  p99 ${fmt(f.p99Ms, 2)} ms\n`);
  if (f.split) process.stdout.write(`${''.padEnd(44)} enqueue→start p50 by part: ${describeSplit(f.split)}\n`);
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
