import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The machine's PostgreSQL; DROVER_BENCH_PG overrides. Each bench gets its own database. */
const ADMIN_URL = process.env.DROVER_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function withFreshDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `drover_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  try {
    return await fn(u.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
