import pg from 'pg';

/** bigint columns hold epoch milliseconds, well inside a JS number: parse them as numbers. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PgOptions {
  /** postgres://USER@HOST:PORT/DB */
  url: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** A schema to work in (created if missing), e.g. one per test. Default: the user's search_path. */
  schema?: string;
  /** LISTEN/NOTIFY for wake-ups between coordinators. Default true; false polls (PgBouncer in transaction mode). */
  listen?: boolean;
}

export function createPool(o: PgOptions): pg.Pool {
  return new pg.Pool({
    connectionString: o.url,
    max: o.poolSize ?? 10,
    types: types as pg.CustomTypesConfig,
    ...(o.schema ? { options: `-c search_path=${o.schema}` } : {}),
  });
}

/** Runs `fn` in a transaction on one pooled connection; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given URL';
  }
}
