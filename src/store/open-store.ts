import { PostgresJobStore } from './postgres/postgres-store.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';
import type { JobStore } from './store.js';

/** Opens a store from a `--db` value: `postgres://...`, or a SQLite file path / `sqlite:PATH`. */
export async function openStore(db: string, pg: { poolSize?: number; listen?: boolean } = {}): Promise<JobStore> {
  if (/^postgres(ql)?:\/\//.test(db)) return PostgresJobStore.open({ url: db, ...pg });
  const file = db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db;
  return SqliteJobStore.open({ path: file });
}
