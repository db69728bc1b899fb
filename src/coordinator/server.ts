import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Template } from '../config/config.js';
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { PostgresJobStore } from '../store/postgres/postgres-store.js';
import { SqliteJobStore } from '../store/sqlite/sqlite-store.js';
import type { JobStore } from '../store/store.js';
import { authEnabled, isLoopback, type Tokens } from './auth.js';
import { Coordinator } from './coordinator.js';
import { buildHttpApp } from './http-app.js';
import { createMetrics } from './metrics.js';
import { Scheduler } from './scheduler.js';
import { TemplateCatalog } from './templates.js';

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
  /** Longest long-poll, ms. Default 30000. */
  maxLongPollMs?: number;
  /** Look-again period of long polls on a shared store that cannot notify, ms. Default 1000. */
  pollMs?: number;
  /** Time limit of a download attempt when the job gives none, ms. Default 30 min. */
  downloadTimeLimitMs?: number;
  clock?: Clock;
  logger: Logger;
}

export interface RunningServer {
  url: string;
  coordinator: Coordinator;
  scheduler: Scheduler;
  app: FastifyInstance;
  store: JobStore;
  close(): Promise<void>;
}

/** Opens the store, starts maintenance and listens. Throws ConfigError with a clear message. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  if (!isLoopback(host) && !authEnabled(o.tokens)) {
    throw new ConfigError(`refusing to listen on ${host} without tokens: give --token-file FILE (created with random tokens if missing), or listen on 127.0.0.1`);
  }
  const store = o.store ?? (await openStore(o.db ?? path.join(o.dataDir ?? './drover-data', 'drover.db'), o.pg));
  const clock = o.clock ?? systemClock;
  const metrics = createMetrics(() => store);
  const coordinator = new Coordinator({
    store,
    clock,
    templates: new TemplateCatalog(o.templates ?? []),
    metrics,
    leaseTtlMs: o.leaseTtlMs ?? 30_000,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? 10_000,
    ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    ...(o.downloadTimeLimitMs ? { downloadTimeLimitMs: o.downloadTimeLimitMs } : {}),
  });
  await coordinator.loadWorkerRegistry();
  await coordinator.subscribe();
  const scheduler = new Scheduler(coordinator, o.logger.child({ part: 'scheduler' }), { tickMs: o.tickMs ?? 1000, retentionMs: o.retentionMs ?? null });
  const app = buildHttpApp({
    coordinator,
    tokens: o.tokens,
    logger: o.logger,
    maxBodyBytes: o.maxBodyBytes ?? 16 * 1024 * 1024,
    maxLongPollMs: o.maxLongPollMs ?? 30_000,
    version: VERSION,
  });
  try {
    await app.listen({ host, port: o.port ?? 7070 });
  } catch (err) {
    await store.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new ConfigError(`cannot listen on ${host}:${o.port}: the port is in use (another drover server?)`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new ConfigError(`cannot listen on ${host}: no such local address`);
    throw new ConfigError(`cannot listen on ${host}:${o.port}: ${e.message}`);
  }
  scheduler.start();
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  o.logger.info({ url, auth: authEnabled(o.tokens) }, 'coordinator listening');
  let closed = false;
  return {
    url,
    coordinator,
    scheduler,
    app,
    store,
    async close() {
      if (closed) return;
      closed = true;
      await scheduler.stop();
      await coordinator.close();
      await app.close();
      await store.close();
    },
  };
}

/** Opens a store from a `--db` value: `postgres://...`, or a SQLite file path / `sqlite:PATH`. */
export async function openStore(db: string, pg: { poolSize?: number; listen?: boolean } = {}): Promise<JobStore> {
  if (/^postgres(ql)?:\/\//.test(db)) return PostgresJobStore.open({ url: db, ...pg });
  const file = db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db;
  return SqliteJobStore.open({ path: file });
}
