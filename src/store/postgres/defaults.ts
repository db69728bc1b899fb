/** The PostgreSQL store's defaults (`server.pg_pool_size`, `server.pg_listen`). */
export const PG_DEFAULTS = {
  /** Connections in each coordinator's pool. */
  poolSize: 10,
  /** LISTEN/NOTIFY between coordinators; false polls (PgBouncer in transaction mode). */
  listen: true,
} as const;
