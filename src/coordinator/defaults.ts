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
