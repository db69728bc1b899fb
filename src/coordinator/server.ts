import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SteadyClock } from '../core/steady-clock.js';
import { ConfigError, errorMessage, ValidationError } from '../core/errors.js';
import { httpUrl, isLoopback, listenErrorMessage } from '../core/net.js';
import { VERSION } from '../core/version.js';
import type { Template } from '../runners/template.js';
import { claimLockFile } from '../supervise/lock-file.js';
import { openStore, sqliteLockFile, sqlitePathOf } from '../store/open-store.js';
import type { JobStore } from '../store/store.js';
import { authEnabled, type Tokens } from '../core/tokens.js';
import { Coordinator } from './coordinator.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { DiskGuard } from './disk-guard.js';
import { buildHttpApp } from './http-app.js';
import { Connections, connectionCap, openFileLimit } from './connections.js';
import { createMetrics } from './metrics.js';
import { Scheduler } from './scheduler.js';
import type { ScheduleInput } from './schedules.js';
import { TemplateCatalog } from './templates.js';
import { SecretBox, type SecretKey } from '../core/secret-box.js';
import { checkStoreKey, coordinatorKey, defaultSecretKeyFile } from './secret-key.js';
import { readTls, reloadTls, TlsConnections, type ReloadableTls, type TlsFiles } from './tls.js';
import type { AuthLimits } from './auth-limiter.js';

/** A coordinator's options; every default is in SERVER_DEFAULTS. */
export interface ServerOptions {
  /** Address to listen on. Default 127.0.0.1. Anything but loopback needs tokens. */
  host?: string;
  /** Port; 0 picks a free one. Default 7070. */
  port?: number;
  /** Data directory of the embedded SQLite store (`DIR/drover.db`). Default ./drover-data. */
  dataDir?: string;
  /** A database: `postgres://...`, a SQLite file path or `sqlite:PATH`. Overrides dataDir. */
  db?: string;
  /** PostgreSQL: pool size (default 10) and whether to LISTEN for other coordinators' changes (default true). */
  pg?: { poolSize?: number; listen?: boolean };
  /**
   * The text search index of `q` (server.search_index): true builds it if missing, false drops
   * it, 'default' is true on SQLite and false on PostgreSQL. Default: the store is left as it is.
   */
  searchIndex?: boolean | 'default';
  /** New jobs are refused while a SQLite database's filesystem has less free than this, MiB. Default 64. */
  diskReserveMb?: number;
  /** An already open store (tests, other backends). Overrides db and dataDir. */
  store?: JobStore;
  tokens: Tokens;
  templates?: Iterable<Template>;
  /** Lease TTL in ms. Default 30000. */
  leaseTtlMs?: number;
  /** Heartbeat interval told to workers, ms. Default 10000. */
  heartbeatIntervalMs?: number;
  /** Maintenance tick, ms. Default 1000. */
  tickMs?: number;
  /** Delete finished jobs older than this, ms. Default: keep forever. */
  retentionMs?: number | null;
  /** Max request body, bytes. Default 16 MiB. */
  maxBodyBytes?: number;
  /** A request not wholly received within this gets 408, ms. Default 30000. */
  requestTimeoutMs?: number;
  /** Longest long-poll, ms. Default 30000. */
  maxLongPollMs?: number;
  /**
   * Open client connections at most; more are closed at once. Default 10,000, and never more
   * than the open-file limit less 256 (FD_RESERVE): a higher value is lowered, with a warning.
   */
  maxConnections?: number;
  /** Long polls (lease, stops, logs, job waits) waiting at once; more get 429. Default 5000. */
  maxLongPolls?: number;
  /** Lease and stop long polls of one worker at once; more get 429. Default 8. */
  maxLongPollsPerWorker?: number;
  /** Look-again period of long polls on a shared store that cannot notify, ms. Default 1000. */
  pollMs?: number;
  /** drover.yaml's schedules: created or replaced at start, the config's others removed. */
  schedules?: ScheduleInput[];
  /** Per kind: an attempt's time limit when the job gives none, ms, over the kind's default (downloads: 30 min). */
  kindTimeLimitsMs?: Record<string, number>;
  /**
   * The key file secret params are encrypted with in the store: created (0600, directory 0700)
   * if missing, refused if open to group or others. Default DATA/secret.key, with PostgreSQL too.
   */
  secretKeyFile?: string;
  /** The key itself, over secretKeyFile (tests). */
  secretKey?: SecretKey;
  /** HTTPS (HTTP/1.1 and HTTP/2) with these PEM files. Default none: plain HTTP, on loopback only unless `insecureHttp`. */
  tls?: TlsFiles;
  /** Listen beyond loopback without TLS: a TLS-terminating proxy is in front. Default false. */
  insecureHttp?: boolean;
  /** Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (addresses or CIDR). Default none. */
  trustedProxies?: string[];
  /** Failed authentications per client address: default 10 within 60 s block it for 60 s (429). */
  authLimits?: AuthLimits;
  /** Default: the system's wall clock, steadied against its steps (SteadyClock). */
  clock?: Clock;
  logger: Logger;
}

export interface RunningServer {
  url: string;
  coordinator: Coordinator;
  scheduler: Scheduler;
  app: FastifyInstance;
  store: JobStore;
  /** Reads `tls`'s files again for new connections (SIGHUP after a renewal); throws a ConfigError and keeps the old on a bad one. */
  reloadTls(): void;
  close(): Promise<void>;
}

/** Opens the store, starts maintenance and listens. Throws ConfigError with a clear message. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const host = o.host ?? SERVER_DEFAULTS.host;
  const port = o.port ?? SERVER_DEFAULTS.port;
  if (!isLoopback(host) && !authEnabled(o.tokens)) {
    throw new ConfigError(`refusing to listen on ${host} without tokens: give --token-file FILE (created with random tokens if missing), or listen on 127.0.0.1`);
  }
  if (!isLoopback(host) && !o.tls && !o.insecureHttp) {
    throw new ConfigError(`refusing to listen on ${host} without TLS: tokens and job secrets would cross the network in clear. Give server.tls { cert, key } (drover tls init DIR makes them), or server.insecure_http: true when a TLS-terminating proxy is in front`);
  }
  const tls = o.tls ? readTls(o.tls) : undefined;
  const db = o.db ?? path.join(o.dataDir ?? SERVER_DEFAULTS.dataDir, 'drover.db');
  // One coordinator per SQLite file: a second one would serve jobs the first never hears of.
  const release = o.store ? () => {} : lockSqlite(db);
  let store: JobStore;
  try {
    const searchLog = o.logger.child({ part: 'search' });
    store = o.store ?? (await openStore(db, o.pg, (m) => searchLog.warn(m)));
  } catch (err) {
    release();
    throw err;
  }
  // After the store: a data directory that cannot be used is named as the store's, first.
  const keyFile = o.secretKeyFile ?? defaultSecretKeyFile(o.dataDir);
  let secret: { key: SecretKey; created: boolean; file: string };
  try {
    secret = { ...coordinatorKey({ ...(o.secretKey ? { secretKey: o.secretKey } : {}), file: keyFile }), file: keyFile };
    await checkStoreKey(store, secret, o.logger);
    if (o.searchIndex !== undefined) await applySearchIndex(store, o.searchIndex === 'default' ? searchIndexByDefault(store) : o.searchIndex, o.logger);
  } catch (err) {
    await store.close();
    release();
    throw err;
  }
  // A step of the system clock must not expire every lease at once (or hold them an hour).
  const clock = o.clock ?? new SteadyClock({ onStep: (ms) => o.logger.warn({ part: 'clock' }, `the system clock stepped ${ms > 0 ? 'forwards' : 'back'} by ${(Math.abs(ms) / 1000).toFixed(1)} s: leases and time limits keep their length; Drover's time closes the gap at 3 s a minute`) });
  const disk = diskGuardOf(db, o.store ? null : (o.diskReserveMb ?? SERVER_DEFAULTS.diskReserveMb), clock);
  const metrics = createMetrics(() => store, () => disk?.status() ?? null);
  const coordinator = new Coordinator({
    store,
    clock,
    templates: new TemplateCatalog(o.templates ?? [], (m) => o.logger.warn({ part: 'templates' }, m)),
    metrics,
    log: o.logger.child({ part: 'schedules' }),
    secretBox: new SecretBox(secret.key),
    ...(disk ? { disk } : {}),
    ...(o.leaseTtlMs === undefined ? {} : { leaseTtlMs: o.leaseTtlMs }),
    ...(o.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: o.heartbeatIntervalMs }),
    ...(o.maxLongPollMs === undefined ? {} : { maxLongPollMs: o.maxLongPollMs }),
    ...(o.pollMs === undefined ? {} : { pollMs: o.pollMs }),
    ...(o.maxLongPolls === undefined ? {} : { maxLongPolls: o.maxLongPolls }),
    ...(o.maxLongPollsPerWorker === undefined ? {} : { maxLongPollsPerWorker: o.maxLongPollsPerWorker }),
    ...(o.kindTimeLimitsMs ? { kindTimeLimitsMs: o.kindTimeLimitsMs } : {}),
  });
  await coordinator.registry.load();
  await coordinator.subscribe();
  const scheduler = new Scheduler({
    store,
    clock,
    metrics,
    log: o.logger.child({ part: 'scheduler' }),
    onWork: (jobs) => coordinator.notifyWork(jobs),
    onStop: (w) => coordinator.notifyStop(w),
    onJobs: (jobs) => coordinator.maintained(jobs),
    fireSchedules: (now) => coordinator.schedules.fireDue(now),
    settleParents: () => coordinator.settleParents(),
    tickMs: o.tickMs ?? SERVER_DEFAULTS.tickMs,
    retentionMs: o.retentionMs ?? null,
    leaseTtlMs: coordinator.leaseTtlMs,
  });
  coordinator.onStoreFailure = () => scheduler.noteStoreFailure();
  if (o.schedules) {
    try {
      await coordinator.schedules.syncConfig(o.schedules);
    } catch (err) {
      await store.close();
      release();
      throw err instanceof ValidationError ? new ConfigError(err.message) : err;
    }
  }
  let app: FastifyInstance;
  try {
  app = buildHttpApp({ coordinator, tokens: o.tokens, clock, ...(o.authLimits ? { authLimits: o.authLimits } : {}), logger: o.logger, ...(tls ? { tls } : {}), ...(o.trustedProxies?.length ? { trustedProxies: o.trustedProxies } : {}), maxBodyBytes: o.maxBodyBytes ?? SERVER_DEFAULTS.maxBodyBytes, requestTimeoutMs: o.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs, version: VERSION });
  } catch (err) {
    await store.close();
    release();
    throw new ConfigError(`server.tls: the certificate and key cannot be used (${errorMessage(err)}); do they go together?`);
  }
  // At the cap the coordinator must still open its own files: the cap stays under the fd limit.
  const cap = connectionCap(o.maxConnections, SERVER_DEFAULTS.maxConnections, openFileLimit());
  if (cap.lowered) o.logger.warn({ part: 'http' }, cap.lowered);
  const connections = new Connections(app.server, { max: cap.max, metrics, log: o.logger.child({ part: 'http' }), clock });
  // Before listening: it hooks into every request.
  const tlsConnections = tls ? new TlsConnections(app) : null;
  try {
    await app.listen({ host, port });
  } catch (err) {
    await store.close();
    release();
    throw new ConfigError(listenErrorMessage(err, host, port, 'another drover server?'));
  }
  scheduler.start();
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const url = httpUrl(host, bound).replace(/^http:/, tls ? 'https:' : 'http:');
  o.logger.info({ url, auth: authEnabled(o.tokens), maxConnections: cap.max }, 'coordinator listening');
  let closed = false;
  return {
    url,
    coordinator,
    scheduler,
    app,
    store,
    reloadTls() {
      if (o.tls) reloadTls(app.server as unknown as ReloadableTls, o.tls);
    },
    async close() {
      if (closed) return;
      closed = true;
      await scheduler.stop();
      await coordinator.close();
      if (tlsConnections) await tlsConnections.close(() => app.close());
      else {
        const closing = app.close();
        connections.closeIdle();
        await closing;
      }
      await store.close();
      release();
    },
  };
}

/** The free-space guard of the SQLite file `db` names, on its directory; null for PostgreSQL, an in-memory database or a store given as such. */
function diskGuardOf(db: string, reserveMb: number | null, clock: Clock): DiskGuard | null {
  const file = sqlitePathOf(db);
  if (reserveMb === null || file === null || file === ':memory:') return null;
  return new DiskGuard(path.dirname(path.resolve(file)), reserveMb * 1024 * 1024, clock);
}

/** Claims the lock of the SQLite file `db` names (nothing for PostgreSQL); a ConfigError names the coordinator holding it. */
function lockSqlite(db: string): () => void {
  const file = sqlitePathOf(db);
  if (file === null || file === ':memory:') return () => {};
  const lock = sqliteLockFile(path.resolve(file));
  try {
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
  } catch {
    // The store's open names what is wrong with the directory.
    return () => {};
  }
  return claimLockFile(lock, {
    inUse: (h) => new ConfigError(`${file} is in use by another drover coordinator (pid ${h.pid}, see ${lock}): stop it first, or give this one another --data`),
    cannotWrite: (err) => new ConfigError(`cannot lock ${file}: ${err.message}`),
  });
}

/**
 * Whether a store has the text search index when the config says nothing: SQLite's is written
 * by a thread of its own and costs an enqueue a few µs; PostgreSQL's is written in each
 * enqueue's transaction (about 3x its cost) and needs the pg_trgm extension.
 */
function searchIndexByDefault(store: JobStore): boolean {
  return !store.shared;
}

/**
 * Builds or drops the text search index as configured, saying so: building it over many jobs
 * takes a while (on SQLite in the background, about a minute per million jobs; searches read
 * every job meanwhile).
 */
async function applySearchIndex(store: JobStore, on: boolean, logger: Logger): Promise<void> {
  const log = logger.child({ part: 'search' });
  const t0 = Date.now();
  const r = await store.setSearchIndex({ on });
  if (r.change === 'built') log.info(`server.search_index: true: ${store.shared ? `built the text search index over ${r.jobs} jobs in ${((Date.now() - t0) / 1000).toFixed(1)} s` : `building the text search index over ${r.jobs} jobs in the background`}`);
  if (r.change === 'dropped') log.info('dropped the text search index (server.search_index is false): searches read every job again');
}
