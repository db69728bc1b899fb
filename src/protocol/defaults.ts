/**
 * The timing both ends of the worker protocol assume until the coordinator says otherwise (its
 * lease answers carry its own `leaseTtlMs` and `heartbeatIntervalMs`).
 */
export const PROTOCOL_DEFAULTS = {
  /** A lease not renewed within this is void, ms (`server.lease_ttl`, 30s). */
  leaseTtlMs: 30_000,
  /** How often workers heartbeat, ms (`server.heartbeat_interval`, 10s). */
  heartbeatIntervalMs: 10_000,
  /** The longest a lease, stop or log request waits, ms (`server.long_poll`, 30s). */
  longPollMs: 30_000,
  /** The coordinator's port (`server.port`). */
  port: 7070,
} as const;

/** Log chunks in one answer: 1000 unless asked, at most 10,000. */
export const LOGS_DEFAULTS = { limit: 1000, maxLimit: 10_000 } as const;

/** Where clients and workers look for the coordinator when told nothing. */
export const DEFAULT_SERVER_URL = `http://127.0.0.1:${PROTOCOL_DEFAULTS.port}`;
