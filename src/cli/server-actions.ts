import fs from 'node:fs';
import type { Logger } from 'pino';
import { Agent, type AgentOptions, type AgentReload } from '../agent/agent.js';
import { defaultConcurrency, defaultWorkerName } from '../agent/defaults.js';
import { serverSettingsOf, workerSettingsOf, type LoadedConfig, type ServerSettings } from '../config/config.js';
import { loadServerTokens, NO_TOKENS } from '../core/tokens.js';
import { startServer, type RunningServer } from '../coordinator/server.js';
import { errorMessage, ValidationError } from '../core/errors.js';
import { announce, createLogger } from '../core/logger.js';
import { plural } from './format.js';
import { onSignals } from './signals.js';
import type { ScheduleInput } from '../coordinator/schedules.js';
import { startWorkerSegments } from './worker-segments.js';
import { createRunners } from '../runners/registry.js';
import { caOf, configOf, serverOf, tokenOf } from './client-context.js';
import { describeDb } from './migrate-action.js';

interface ServerFlags {
  host?: string;
  port?: string;
  data?: string;
  db?: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  config?: string;
  logFormat?: string;
}
interface WorkerFlags {
  server?: string;
  tokenFile?: string;
  caFile?: string;
  config?: string;
  concurrency?: string;
  name?: string;
  queue?: string[];
  outputRoot?: string;
  logFormat?: string;
}

export async function serverAction(flags: ServerFlags): Promise<void> {
  const loaded = configOf(flags);
  const log = createLogger('drover-server', { format: flags.logFormat });
  const srv = await runServer(flags, loaded, log);
  onReload(flags, log, loaded, async (next, prev) => reloadServer(srv, next, prev, log));
  onSignals(() => srv.close());
  // Last: whoever waits for this line may signal at once.
  announce('drover-server', flags.logFormat, `coordinator on ${srv.url} (the dashboard: ${srv.url}/)`);
}

export async function workerAction(flags: WorkerFlags): Promise<void> {
  const loaded = configOf(flags);
  const log = createLogger('drover-worker', { format: flags.logFormat });
  const w = workerSettingsOf(loaded.config.worker);
  const token = tokenOf(flags, 'worker', w.tokenFile);
  const options = await agentOptionsOf(flags, loaded, log);
  const ca = caOf(flags, w.caFile);
  const clientCert = clientCertOf(w.clientCert);
  const segments = await startWorkerSegments(w.kinds, token, log, { servers: serverOf(flags, w.server).split(','), ...(ca ? { ca } : {}) });
  const agent = new Agent({ ...options, ...segments.agent, servers: serverOf(flags, w.server).split(','), ...(token ? { token } : {}), ...(ca ? { ca } : {}), ...(clientCert ? { clientCert } : {}) });
  agent.start();
  onReload(flags, log, loaded, async (next, prev) => reloadAgent(agent, flags, next, prev, log));
  onSignals(async () => {
    await agent.shutdown();
    await segments.close();
  });
  announce('drover-worker', flags.logFormat, `worker ${agent.info().name} pulling from ${serverOf(flags, w.server)} with ${slots(agent.info().slots)}`);
}

export async function upAction(flags: ServerFlags & WorkerFlags & { worker: boolean }): Promise<void> {
  const loaded = configOf(flags);
  const log = createLogger('drover', { format: flags.logFormat });
  // The worker's settings are checked before the coordinator listens: a bad one binds nothing.
  const agentOptions = flags.worker ? await agentOptionsOf(flags, loaded, log) : null;
  const srv = await runServer(flags, loaded, log);
  let agent: Agent | null = null;
  const tokenFile = flags.tokenFile ?? loaded.config.server.token_file;
  const token = tokenFile ? tokenOf({ tokenFile }, 'worker') : undefined;
  // Over TLS the local worker trusts what a remote one would (worker.ca_file, DROVER_CA).
  const ca = caOf({}, workerSettingsOf(loaded.config.worker).caFile);
  const segments = agentOptions ? await startWorkerSegments(workerSettingsOf(loaded.config.worker).kinds, token, log, { servers: [srv.url], ...(ca ? { ca } : {}) }) : null;
  if (agentOptions) {
    agent = new Agent({ ...agentOptions, ...segments?.agent, servers: [srv.url], ...(token ? { token } : {}), ...(ca ? { ca } : {}) });
    agent.start();
  }
  onReload(flags, log, loaded, async (next, prev) => {
    await reloadServer(srv, next, prev, log);
    if (agent) await reloadAgent(agent, flags, next, prev, log);
  });
  onSignals(async () => {
    await agent?.shutdown();
    await segments?.close();
    await srv.close();
  });
  const s = serverSettingsOf(loaded.config.server);
  announce('drover', flags.logFormat, `coordinator on ${srv.url}${agent ? ` with local worker ${agent.info().name} (${slots(agent.info().slots)})` : ''}; data in ${describeDb(dbOf(flags, loaded) ?? flags.data ?? s.dataDir)}; the dashboard: ${srv.url}/`);
}

function slots(n: number): string {
  return plural(n, 'slot');
}

function intFlag(v: string | undefined, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ValidationError(`--${name}: expected an integer ≥ ${min}, got "${v}"`);
  if (n > max) throw new ValidationError(`--${name}: expected at most ${max}, got "${v}"`);
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
    if (t.created) announce('drover-server', flags.logFormat, `created ${tokenFile} with new admin and worker tokens`);
  }
  const db = dbOf(flags, loaded);
  const given = <T>(v: T | undefined, key: string) => (v === undefined ? {} : { [key]: v });
  return startServer({
    schedules: configSchedules(loaded),
    host: flags.host ?? s.host,
    port: intFlag(flags.port, 'port', s.port, 0, 65535),
    dataDir: flags.data ?? s.dataDir,
    ...(db ? { db } : {}),
    tokens,
    templates: loaded.templates.values(),
    ...given(s.leaseTtlMs, 'leaseTtlMs'),
    ...given(s.heartbeatIntervalMs, 'heartbeatIntervalMs'),
    ...given(s.maxBodyBytes, 'maxBodyBytes'),
    ...given(s.maxLongPollMs, 'maxLongPollMs'),
    ...given(s.maxConnections, 'maxConnections'),
    ...given(s.maxLongPolls, 'maxLongPolls'),
    ...given(s.maxLongPollsPerWorker, 'maxLongPollsPerWorker'),
    ...given(s.pollMs, 'pollMs'),
    ...given(s.secretKeyFile, 'secretKeyFile'),
    kindTimeLimitsMs: s.kindTimeLimitsMs,
    retentionMs: s.retentionMs,
    pg: s.pg,
    ...tlsOf(flags, s.tls),
    insecureHttp: s.insecureHttp,
    trustedProxies: s.trustedProxies,
    searchIndex: s.searchIndex,
    diskReserveMb: s.diskReserveMb,
    logger: log,
  });
}

/** `worker.client_cert` and `client_key`, read (PEM); a ValidationError names the one that cannot be read. */
function clientCertOf(files: { cert: string; key: string } | undefined): { cert: string; key: string } | undefined {
  if (!files) return undefined;
  const read = (file: string, key: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ValidationError(`worker.${key}: cannot read ${file}: ${errorMessage(err)}`);
    }
  };
  return { cert: read(files.cert, 'client_cert'), key: read(files.key, 'client_key') };
}

/** --tls-cert and --tls-key (both or neither) over server.tls. */
function tlsOf(flags: ServerFlags, cfg: ServerSettings['tls']): { tls?: { cert: string; key: string } } {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new ValidationError(`${flags.tlsCert ? '--tls-key' : '--tls-cert'} is missing: HTTPS needs both --tls-cert and --tls-key`);
  if (flags.tlsCert && flags.tlsKey) return { tls: { cert: flags.tlsCert, key: flags.tlsKey } };
  return cfg ? { tls: cfg } : {};
}

/** Everything of a worker but its servers and token, from the flags over drover.yaml. */
async function agentOptionsOf(flags: WorkerFlags, loaded: LoadedConfig, log: Logger): Promise<Omit<AgentOptions, 'servers'>> {
  const w = workerSettingsOf(loaded.config.worker);
  return {
    name: flags.name ?? w.name ?? defaultWorkerName(),
    ...(await agentReloadOf(flags, loaded)),
    outputRoot: flags.outputRoot ?? w.outputRoot,
    logDir: w.logDir,
    logger: log,
  };
}

/** What a reload may change in a worker (flags still win over drover.yaml). */
async function agentReloadOf(flags: WorkerFlags, loaded: LoadedConfig): Promise<AgentReload> {
  const w = workerSettingsOf(loaded.config.worker);
  return {
    concurrency: intFlag(flags.concurrency, 'concurrency', w.concurrency ?? defaultConcurrency(), 1),
    queues: flags.queue ?? w.queues,
    runners: await createRunners(w.setup, w.kinds),
    templates: loaded.templates,
    destinations: [...w.setup.destinations.keys()],
    shutdownGraceMs: w.shutdownGraceMs,
  };
}

/** drover.yaml keys a reload cannot apply to a running process: all of `server` (only templates reload there), these of `worker`. */
const WORKER_RESTART_ONLY = ['name', 'server', 'token_file', 'output_root', 'log_dir', 'segments'];

/** drover.yaml's `schedules:` as the coordinator takes them. */
function configSchedules(loaded: LoadedConfig): ScheduleInput[] {
  return Object.entries(loaded.config.schedules).map(([name, s]) => ({ name, ...s }) as ScheduleInput);
}

async function reloadServer(srv: RunningServer, next: LoadedConfig, prev: LoadedConfig, log: Logger): Promise<void> {
  srv.coordinator.reloadTemplates(next.templates.values());
  // The certificate's files, read again (a renewal); which files they are takes a restart.
  try {
    srv.reloadTls();
    if (next.config.server.tls) log.info({ cert: next.config.server.tls.cert }, 'coordinator: TLS certificate reloaded');
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'coordinator: TLS certificate not reloaded; the one in use stays');
  }
  await srv.coordinator.schedules.syncConfig(configSchedules(next));
  const later = changedKeys('server', prev, next);
  log.info({ templates: [...next.templates.keys()] }, 'coordinator: templates reloaded');
  if (later.length > 0) log.warn({ keys: later }, 'coordinator: these settings changed and take effect at the next start');
}

async function reloadAgent(agent: Agent, flags: WorkerFlags, next: LoadedConfig, prev: LoadedConfig, log: Logger): Promise<void> {
  agent.reconfigure(await agentReloadOf(flags, next));
  const later = changedKeys('worker', prev, next);
  if (later.length > 0) log.warn({ keys: later }, 'worker: these settings changed and take effect at the next start');
}

function changedKeys(section: 'server' | 'worker', prev: LoadedConfig, next: LoadedConfig): string[] {
  const a = prev.config[section] as Record<string, unknown>;
  const b = next.config[section] as Record<string, unknown>;
  const keys = section === 'worker' ? WORKER_RESTART_ONLY : [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${section}.${k}`);
}

/**
 * On SIGHUP drover.yaml is read again and `apply` given it with the one before; a config that
 * does not load is refused with its error and the running one stays. Reloads run one at a time.
 */
function onReload(flags: { config?: string }, log: Logger, first: LoadedConfig, apply: (next: LoadedConfig, prev: LoadedConfig) => Promise<void>): void {
  let current = first;
  let queue = Promise.resolve();
  process.on('SIGHUP', () => {
    queue = queue.then(async () => {
      try {
        const next = configOf(flags);
        await apply(next, current);
        current = next;
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'reload refused; the configuration in use stays');
      }
    });
  });
}
