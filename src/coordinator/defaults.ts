import { PROTOCOL_DEFAULTS } from '../protocol/defaults.js';
import { PG_DEFAULTS } from '../store/postgres/defaults.js';

/** Every default of the coordinator, once: `startServer`, `server:` in drover.yaml and the README take these. */
export const SERVER_DEFAULTS = {
  /** Anything but loopback needs tokens. */
  host: '127.0.0.1',
  port: PROTOCOL_DEFAULTS.port,
  /** The embedded SQLite store lives in DATA/drover.db. */
  dataDir: './drover-data',
  /** The key secret params are encrypted with lives in DATA/secret.key unless `server.secret_key_file` says otherwise. */
  secretKeyFileName: 'secret.key',
  leaseTtlMs: PROTOCOL_DEFAULTS.leaseTtlMs,
  heartbeatIntervalMs: PROTOCOL_DEFAULTS.heartbeatIntervalMs,
  /** Larger requests get 413, bytes. */
  maxBodyBytes: 16 * 1024 * 1024,
  /** A request (headers and body) not wholly received within this gets 408 and its socket closed, ms. */
  requestTimeoutMs: 30_000,
  maxLongPollMs: PROTOCOL_DEFAULTS.longPollMs,
  /**
   * Open client connections at most (`server.max_connections`); more are closed at once. Lowered
   * to the open-file limit less FD_RESERVE where that is lower, so that at the cap the store,
   * its logs and a TLS reload still find file descriptors.
   */
  maxConnections: 10_000,
  /** Long polls waiting at once, of every kind (lease, stops, logs, job waits); more get 429. */
  maxLongPolls: 5_000,
  /**
   * Lease and stop long polls of one worker (by name) at once; more get 429. An agent holds at
   * most three (two lease loops and its stops), so eight leave room for a restart's overlap.
   */
  maxLongPollsPerWorker: 8,
  /** Long polls on a shared store that cannot notify look again this often, ms. */
  pollMs: 1_000,
  /** Maintenance runs this often, ms. */
  tickMs: 1_000,
  /** `GET /workers` leaves out workers gone longer than this, ms (`?all=true` shows them). */
  workerRetentionMs: 3_600_000,
  /**
   * New jobs are refused (507) while the SQLite database's filesystem has less free than this,
   * MiB, so that leases, reports and retention still find room (`server.disk_reserve_mb`).
   */
  diskReserveMb: 64,
  /** PostgreSQL connections per coordinator. */
  pgPoolSize: PG_DEFAULTS.poolSize,
  /** LISTEN/NOTIFY between coordinators on PostgreSQL. */
  pgListen: PG_DEFAULTS.listen,
} as const;
