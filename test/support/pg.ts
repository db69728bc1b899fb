import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';

/** The machine's PostgreSQL (trust auth). Tests create their own database and drop it. */
export const PG_ADMIN_URL = process.env.DROVER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates a fresh database; returns its URL and a function that drops it. */
export async function freshDatabase(prefix = 'drover_test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await pgAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}

/** `pg_dump` of the database at `url`, as text: Debian's versioned binary when there is one (newest first), else the one on PATH. */
export function pgDump(url: string): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = [...versions.map((v) => `${root}/${v}/bin/pg_dump`), '/usr/bin/pg_dump'].find((f) => fs.existsSync(f)) ?? 'pg_dump';
  return execFileSync(bin, ['--no-owner', url], { maxBuffer: 256 << 20 }).toString();
}
