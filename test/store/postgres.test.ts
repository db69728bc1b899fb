import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { PostgresJobStore } from '../../src/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/pg.js';
import { runStoreContract } from './contract.js';

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
  return {
    store,
    // The schema goes with the database at the end of the run.
    cleanup: () => store.close(),
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
    expect(versions).toEqual([1]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('lets one coordinator at a time lead maintenance, and passes the lead on when the leader goes', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => PostgresJobStore.open({ url: url(), schema: 'lead', poolSize: 2 })));
    expect(await a!.tryLead()).toBe(true);
    expect(await a!.tryLead()).toBe(true);
    expect(await b!.tryLead()).toBe(false);
    await a!.close();
    expect(await b!.tryLead()).toBe(true);
    await b!.close();
  });
});

