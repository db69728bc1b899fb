import pg from 'pg';
import { PG_DEFAULTS } from './defaults.js';

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
    max: o.poolSize ?? PG_DEFAULTS.poolSize,
    types: types as pg.CustomTypesConfig,
    ...(o.schema ? { options: `-c search_path=${o.schema}` } : {}),
  });
}

/** SQLSTATEs after which the whole transaction may simply run again: deadlock, serialization. */
const RETRYABLE = new Set(['40P01', '40001']);
/** Tries of a transaction that keeps hitting deadlocks. */
const TRIES = 3;

/**
 * Runs `fn` in a transaction on one pooled connection; rolls back on any error. Batched updates
 * lock rows in no fixed order, so two of them can deadlock; PostgreSQL then aborts one, which
 * runs again (up to 3 tries). `fn` must therefore have no effects outside the transaction.
 * `begin` may add `SET LOCAL` statements after the BEGIN, sent in the same round trip.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const c = await pool.connect();
    try {
      await c.query(begin);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      if (attempt >= TRIES || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
    } finally {
      c.release();
    }
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
