import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { PostgresJobStore } from '../../src/store/postgres/postgres-store.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { freshDatabase } from '../support/pg.js';
import type { JobStore } from '../../src/store/store.js';
import { runStoreContract } from './contract/index.js';

let db: { url: string; drop: () => Promise<void> };
const url = () => db.url;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

let n = 0;
// Each contract test gets a schema of its own in this run's database.
runStoreContract('postgres', async () => {
  const schema = `t${++n}`;
  const store = await PostgresJobStore.open({ url: url(), schema, poolSize: 4 });
  const others: JobStore[] = [];
  return {
    store,
    async another() {
      const s = await PostgresJobStore.open({ url: url(), schema, poolSize: 2 });
      others.push(s);
      return s;
    },
    // The schema goes with the database at the end of the run; closing twice is allowed.
    async cleanup() {
      for (const s of others) await s.close();
      await store.close();
    },
  };
});

describe('PostgreSQL store specifics', () => {
  it('names the server, without the password, when it cannot connect', async () => {
    const err = await PostgresJobStore.open({ url: 'postgres://drover:s3cret@127.0.0.1:1/nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/cannot open the PostgreSQL database at postgres:\/\/drover:\*\*\*@127\.0\.0\.1:1\/nope/);
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('migrates once when several coordinators start together', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => PostgresJobStore.open({ url: url(), schema: 'together', poolSize: 2 })));
    const c = new pg.Client({ connectionString: url() });
    await c.connect();
    const versions = (await c.query('SELECT version FROM together.schema_migrations')).rows.map((r) => r.version);
    await c.end();
    expect(versions).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('numbers its migrations like the SQLite store', () => {
    expect(POSTGRES_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(SQLITE_MIGRATIONS.map((m) => [m.version, m.name]));
  });

  it('upgrades a database made by an older Drover, keeping its jobs', async () => {
    const c = new pg.Client({ connectionString: url() });
    await c.connect();
    try {
      // What the first release left behind: migration 1 only, and a job.
      await c.query('CREATE SCHEMA old; SET search_path = old');
      await c.query(POSTGRES_MIGRATIONS[0]!.sql);
      await c.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
      await c.query(`INSERT INTO schema_migrations VALUES (1, 'init', 0)`);
      await c.query(`INSERT INTO jobs (id, queue, kind, params, secrets, tags, priority, state, run_at, max_attempts, backoff_ms, backoff_max_ms, created_at, updated_at)
        VALUES ('old1', 'default', 'noop', '{}', '[]', '[]', 0, 'queued', 1, 3, 5000, 600000, 1, 1)`);
      const store = await PostgresJobStore.open({ url: url(), schema: 'old', poolSize: 2 });
      try {
        expect((await store.get('old1'))?.state).toBe('queued');
        const versions = (await c.query('SELECT version FROM old.schema_migrations ORDER BY version')).rows.map((r) => r.version);
        expect(versions).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
        const index = (await c.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'old' AND indexname = 'jobs_state'`)).rows[0]?.indexdef;
        expect(index).toMatch(/WHERE \(state <> 'succeeded'::text\)/);
      } finally {
        await store.close();
      }
    } finally {
      await c.end();
    }
  });
});

