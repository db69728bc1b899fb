import { PostgresJobStore } from './postgres/postgres-store.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';
import type { JobStore } from './store.js';

/** The SQLite file a `--db` value names (a path or `sqlite:PATH`), or null for PostgreSQL. */
export function sqlitePathOf(db: string): string | null {
  if (/^postgres(ql)?:\/\//.test(db)) return null;
  return db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db;
}

/** The lock file of a SQLite database: the coordinator using it holds `FILE.lock` (see claimLockFile). */
export function sqliteLockFile(file: string): string {
  return `${file}.lock`;
}

/** Opens a store from a `--db` value: `postgres://...`, or a SQLite file path / `sqlite:PATH`. */
export async function openStore(db: string, pg: { poolSize?: number; listen?: boolean } = {}, onSearchIndexError?: (message: string) => void): Promise<JobStore> {
  const file = sqlitePathOf(db);
  if (file === null) return PostgresJobStore.open({ url: db, ...pg });
  return SqliteJobStore.open({ path: file, ...(onSearchIndexError ? { onSearchIndexError } : {}) });
}
