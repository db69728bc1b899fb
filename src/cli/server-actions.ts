import type { Logger } from 'pino';
import { Agent } from '../agent/agent.js';
import { defaultConcurrency, defaultWorkerName } from '../agent/defaults.js';
import { serverSettingsOf, workerSettingsOf, type LoadedConfig } from '../config/config.js';
import { loadServerTokens, NO_TOKENS } from '../coordinator/auth.js';
import { startServer, type RunningServer } from '../coordinator/server.js';
import { ValidationError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createRunners } from '../runners/registry.js';
import { configOf, serverOf, tokenOf } from './client-context.js';
import { describeDb } from './migrate-action.js';

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

export async function serverAction(flags: ServerFlags): Promise<void> {
  const loaded = configOf(flags);
  const log = createLogger('drover-server');
  const srv = await runServer(flags, loaded, log);
  process.stderr.write(`drover: coordinator on ${srv.url}\n`);
  onSignals(() => srv.close());
}

export async function workerAction(flags: WorkerFlags): Promise<void> {
  const loaded = configOf(flags);
  const log = createLogger('drover-worker');
  const w = workerSettingsOf(loaded.config.worker);
  const token = tokenOf(flags, 'worker', w.tokenFile);
  const agent = await makeAgent(flags, loaded, serverOf(flags, w.server), token, log);
  agent.start();
  process.stderr.write(`drover: worker ${agent.info().name} pulling from ${serverOf(flags, w.server)} with ${agent.info().slots} slots\n`);
  onSignals(() => agent.shutdown());
}

export async function upAction(flags: ServerFlags & WorkerFlags & { worker: boolean }): Promise<void> {
  const loaded = configOf(flags);
  const log = createLogger('drover');
  const srv = await runServer(flags, loaded, log);
  let agent: Agent | null = null;
  const tokenFile = flags.tokenFile ?? loaded.config.server.token_file;
  const token = tokenFile ? tokenOf({ tokenFile }, 'worker') : undefined;
  if (flags.worker) {
    agent = await makeAgent(flags, loaded, srv.url, token, log);
    agent.start();
  }
  const s = serverSettingsOf(loaded.config.server);
  process.stderr.write(`drover: coordinator on ${srv.url}${agent ? ` with local worker ${agent.info().name} (${agent.info().slots} slots)` : ''}; data in ${describeDb(dbOf(flags, loaded) ?? flags.data ?? s.dataDir)}\n`);
  onSignals(async () => {
    await agent?.shutdown();
    await srv.close();
  });
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

async function runServer(flags: ServerFlags, loaded: LoadedConfig, log: Logger): Promise<RunningServer> {
  const s = serverSettingsOf(loaded.config.server);
  const tokenFile = flags.tokenFile ?? s.tokenFile;
  let tokens = NO_TOKENS;
  if (tokenFile) {
    const t = loadServerTokens(tokenFile);
    tokens = t.tokens;
    if (t.created) process.stderr.write(`drover: created ${tokenFile} with new admin and worker tokens\n`);
  }
  const db = dbOf(flags, loaded);
  const given = <T>(v: T | undefined, key: string) => (v === undefined ? {} : { [key]: v });
  return startServer({
    host: flags.host ?? s.host,
    port: intFlag(flags.port, 'port', s.port),
    dataDir: flags.data ?? s.dataDir,
    ...(db ? { db } : {}),
    tokens,
    templates: loaded.templates.values(),
    ...given(s.leaseTtlMs, 'leaseTtlMs'),
    ...given(s.heartbeatIntervalMs, 'heartbeatIntervalMs'),
    ...given(s.maxBodyBytes, 'maxBodyBytes'),
    ...given(s.maxLongPollMs, 'maxLongPollMs'),
    ...given(s.pollMs, 'pollMs'),
    kindTimeLimitsMs: s.kindTimeLimitsMs,
    retentionMs: s.retentionMs,
    pg: s.pg,
    logger: log,
  });
}

async function makeAgent(flags: WorkerFlags, loaded: LoadedConfig, servers: string, token: string | undefined, log: Logger): Promise<Agent> {
  const w = workerSettingsOf(loaded.config.worker);
  return new Agent({
    name: flags.name ?? w.name ?? defaultWorkerName(),
    servers: servers.split(','),
    ...(token ? { token } : {}),
    concurrency: intFlag(flags.concurrency, 'concurrency', w.concurrency ?? defaultConcurrency(), 1),
    queues: flags.queue ?? w.queues,
    runners: await createRunners(w.setup, w.kinds),
    templates: loaded.templates,
    outputRoot: flags.outputRoot ?? w.outputRoot,
    logDir: w.logDir,
    destinations: [...w.setup.destinations.keys()],
    shutdownGraceMs: w.shutdownGraceMs,
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
