import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { Agent } from '../agent/agent.js';
import { defaultWorkerName, downloadSettingsOf, ffmpegSettingsOf, type LoadedConfig } from '../config/config.js';
import { loadServerTokens, NO_TOKENS } from '../coordinator/auth.js';
import { startServer, type RunningServer } from '../coordinator/server.js';
import { redactUrl } from '../store/postgres/postgres-store.js';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { builtinRunners } from '../runners/registry.js';
import { collectList, configOf, serverOf, tokenOf } from './context.js';

interface ServerFlags {
  host?: string;
  port?: string;
  data?: string;
  db?: string;
  tokenFile?: string;
  config?: string;
}
interface WorkerFlags {
  server?: string;
  tokenFile?: string;
  config?: string;
  concurrency?: string;
  name?: string;
  queue?: string[];
  outputRoot?: string;
}

function serverFlags(cmd: Command): Command {
  return cmd
    .option('--host <addr>', 'address to listen on (default 127.0.0.1; others need --token-file)')
    .option('--port <n>', 'port (default 7070)')
    .option('--data <dir>', 'data directory of the embedded SQLite store (default ./drover-data)')
    .option('--db <url>', 'database: postgres://USER@HOST/DB or a SQLite file (default $DROVER_DB; overrides --data)')
    .option('--token-file <file>', 'tokens file (admin: / worker:), created with random tokens if missing')
    .option('--config <file>', 'config file (default $DROVER_CONFIG, else ./drover.yaml)');
}

function workerFlags(cmd: Command, withServer: boolean): Command {
  if (withServer) cmd.option('--server <urls>', 'coordinator URL(s), comma-separated, tried in turn (default $DROVER_SERVER)');
  return cmd
    .option('--concurrency <n>', 'jobs run at once (default: number of CPUs)')
    .option('--name <name>', 'worker name (default HOST-PID)')
    .option('--queue <name>', 'take jobs only from this queue (repeatable; default all)', collectList)
    .option('--output-root <dir>', 'where job output directories go (default ./downloads)');
}

function intFlag(v: string | undefined, name: string, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ValidationError(`--${name}: expected an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** The database: --db, then $DROVER_DB, then server.db from the config. */
function dbOf(flags: ServerFlags, loaded: LoadedConfig): string | undefined {
  return flags.db ?? process.env.DROVER_DB ?? loaded.config.server.db;
}

function describeDb(db: string): string {
  return /^postgres(ql)?:\/\//.test(db) ? redactUrl(db) : db;
}

async function runServer(flags: ServerFlags, loaded: LoadedConfig, log: Logger): Promise<RunningServer> {
  const s = loaded.config.server;
  const tokenFile = flags.tokenFile ?? s.token_file;
  let tokens = NO_TOKENS;
  if (tokenFile) {
    const t = loadServerTokens(tokenFile);
    tokens = t.tokens;
    if (t.created) process.stderr.write(`drover: created ${tokenFile} with new admin and worker tokens\n`);
  }
  return startServer({
    host: flags.host ?? s.host,
    port: intFlag(flags.port, 'port', s.port),
    dataDir: flags.data ?? s.data,
    ...(dbOf(flags, loaded) ? { db: dbOf(flags, loaded) as string } : {}),
    tokens,
    templates: loaded.templates.values(),
    leaseTtlMs: parseDuration(s.lease_ttl, 'server.lease_ttl'),
    heartbeatIntervalMs: parseDuration(s.heartbeat_interval, 'server.heartbeat_interval'),
    maxBodyBytes: s.max_body,
    maxLongPollMs: parseDuration(s.long_poll, 'server.long_poll'),
    pollMs: parseDuration(s.poll_interval, 'server.poll_interval'),
    downloadTimeLimitMs: parseDuration(s.download_time_limit, 'server.download_time_limit'),
    retentionMs: s.retention === undefined ? null : parseDuration(s.retention, 'server.retention'),
    pg: { poolSize: s.pg_pool_size, listen: s.pg_listen },
    logger: log,
  });
}

function makeAgent(flags: WorkerFlags, loaded: LoadedConfig, servers: string, token: string | undefined, log: Logger): Agent {
  const w = loaded.config.worker;
  const concurrency = intFlag(flags.concurrency, 'concurrency', w.concurrency ?? os.availableParallelism(), 1);
  return new Agent({
    name: flags.name ?? w.name ?? defaultWorkerName(),
    servers: servers.split(','),
    ...(token ? { token } : {}),
    concurrency,
    queues: flags.queue ?? w.queues,
    runners: builtinRunners(downloadSettingsOf(w), ffmpegSettingsOf(w)),
    templates: loaded.templates,
    outputRoot: path.resolve(flags.outputRoot ?? w.output_root),
    logDir: path.resolve(w.log_dir),
    shutdownGraceMs: parseDuration(w.shutdown_grace, 'worker.shutdown_grace'),
    logger: log,
  });
}

/** Stops `stop` on SIGTERM/SIGINT; a second signal exits at once. */
function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`drover: ${sig} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`drover: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

export function registerServerCommands(program: Command): void {
  serverFlags(program.command('server'))
    .description('run the coordinator (HTTP API, scheduler, store)')
    .action(async (flags: ServerFlags) => {
      const loaded = configOf(flags);
      const log = createLogger('drover-server');
      const srv = await runServer(flags, loaded, log);
      process.stderr.write(`drover: coordinator on ${srv.url}\n`);
      onSignals(() => srv.close());
    });

  workerFlags(program.command('worker'), true)
    .description('run a worker agent that pulls jobs from the coordinator')
    .option('--token-file <file>', 'file with the worker token (default $DROVER_TOKEN)')
    .option('--config <file>', 'config file (default $DROVER_CONFIG, else ./drover.yaml)')
    .action(async (flags: WorkerFlags) => {
      const loaded = configOf(flags);
      const log = createLogger('drover-worker');
      const token = tokenOf(flags, 'worker', loaded.config.worker.token_file);
      const agent = makeAgent(flags, loaded, serverOf(flags, loaded.config.worker.server), token, log);
      agent.start();
      process.stderr.write(`drover: worker ${agent.info().name} pulling from ${serverOf(flags, loaded.config.worker.server)} with ${agent.info().slots} slots\n`);
      onSignals(() => agent.shutdown());
    });

  workerFlags(serverFlags(program.command('up')), false)
    .description('run a coordinator and one local worker (the embedded default)')
    .option('--no-worker', 'run the coordinator only')
    .action(async (flags: ServerFlags & WorkerFlags & { worker: boolean }) => {
      const loaded = configOf(flags);
      const log = createLogger('drover');
      const srv = await runServer(flags, loaded, log);
      let agent: Agent | null = null;
      const tokenFile = flags.tokenFile ?? loaded.config.server.token_file;
      const token = tokenFile ? tokenOf({ tokenFile }, 'worker') : undefined;
      if (flags.worker) {
        agent = makeAgent(flags, loaded, srv.url, token, log);
        agent.start();
      }
      process.stderr.write(`drover: coordinator on ${srv.url}${agent ? ` with local worker ${agent.info().name} (${agent.info().slots} slots)` : ''}; data in ${describeDb(dbOf(flags, loaded) ?? flags.data ?? loaded.config.server.data)}\n`);
      onSignals(async () => {
        await agent?.shutdown();
        await srv.close();
      });
    });
}
