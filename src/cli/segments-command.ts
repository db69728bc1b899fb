import type { Command } from 'commander';
import { lazy } from './flags.js';

const actions = () => import('./segments-action.js');
const mirror = () => import('./mirror-action.js');

export function registerSegmentsCommand(program: Command): void {
  const segments = program.command('segments').description("segment trees as wubloader's restreamer serves them (CHANNEL/QUALITY/HOUR/NAME.ts)");
  segments
    .command('serve <dir>')
    .description("serve a segment tree over HTTP with wubloader's restreamer routes (/files/..., /segments/...)")
    .option('--host <addr>', 'address to listen on (default 127.0.0.1; others need --token-file or --public)')
    .option('--port <n>', 'port (default 8003)')
    .option('--token-file <file>', 'tokens file (admin: / worker:), created with random tokens if missing; readers send one as a bearer token or as http://user:TOKEN@host/')
    .option('--public', 'serve beyond loopback without a token')
    .option('--tls-cert <file>', 'serve over HTTPS with this PEM certificate (with --tls-key; drover tls init makes them); SIGHUP reads it again')
    .option('--tls-key <file>', 'the PEM key of --tls-cert')
    .option('--log-format <form>', 'human or json (default $DROVER_LOG_FORMAT, else human on a terminal, json otherwise)')
    .action(lazy(actions, 'serveSegmentsAction'));

  program
    .command('mirror')
    .description("one pass of wubloader's backfiller, without a coordinator: fetch the segments peers have and this tree lacks, hash-checked, tombstones too")
    .option('--from <urls>', 'peers\' segment servers, comma-separated (http://HOST:8003; http://user:TOKEN@HOST:8003 with a token)')
    .option('--base <dir>', 'the local segment tree')
    .option('--ca-file <file>', 'PEM certificate(s) trusted for https:// peers besides the system\'s (default $DROVER_CA)')
    .option('--channels <names>', 'channels, comma-separated')
    .option('--qualities <names>', 'qualities, comma-separated (e.g. source,480p)')
    .option('--hours <which>', 'all (every hour a peer lists), N (the last N hours) or H1,H2 (e.g. 2019-11-13T02)', 'all')
    .option('--start <time>', 'leave out hours before this: an ISO 8601 time or a duration ago (6h)')
    .option('--order <order>', "a hour's missing segments: random, forward or reverse", 'random')
    .option('--recent-cutoff <duration>', 'leave segments younger than this to the live recorder', '120s')
    .option('--concurrency <n>', 'fetches at once from each peer', '8')
    .option('--backoff <duration>', "first wait after a peer's failure, doubled up to 4 times, then the peer is left for this pass", '5s')
    .option('--json', 'print the summary as JSON')
    .action(lazy(mirror, 'mirrorAction'));
}
