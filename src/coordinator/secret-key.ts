import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors.js';
import { loadOrCreateSecretKeyFile, sealedKeyId, type SecretKey } from '../core/secret-box.js';
import type { JobStore } from '../store/store.js';
import { SERVER_DEFAULTS } from './defaults.js';

/** How many of the newest jobs a start looks at for values sealed under another key. */
const LOOK_AT_NEWEST = 200;

/** `server.secret_key_file` when none is set: DATA/secret.key (with PostgreSQL too: every coordinator of one database needs the same file). */
export function defaultSecretKeyFile(dataDir: string = SERVER_DEFAULTS.dataDir): string {
  return path.join(dataDir, SERVER_DEFAULTS.secretKeyFileName);
}

/** The coordinator's key: the one given (tests), else its file's, the file created at first start. */
export function coordinatorKey(o: { secretKey?: SecretKey; file: string }): { key: SecretKey; created: boolean } {
  return o.secretKey ? { key: o.secretKey, created: false } : loadOrCreateSecretKeyFile(o.file);
}

/**
 * The key ids, other than `key`'s, that the newest jobs' secret params and the schedules are
 * sealed under. A cheap look at start, not a scan: enough to tell a coordinator that made a new
 * key beside a store written under another (a lost key file, a second coordinator with its own
 * data directory) before it fails every job it leases.
 */
export async function foreignKeyIds(store: JobStore, key: SecretKey): Promise<string[]> {
  const ids = new Set<string>();
  const page = await store.list({ order: 'desc', limit: LOOK_AT_NEWEST });
  for (const j of page.jobs) for (const n of j.secrets) ids.add(sealedKeyId(j.params[n]) ?? key.id);
  for (const s of await store.listSchedules()) {
    const params = s.job.params;
    if (typeof params === 'object' && params !== null) for (const v of Object.values(params)) ids.add(sealedKeyId(v) ?? key.id);
  }
  ids.delete(key.id);
  return [...ids].sort();
}

/**
 * Checks the key against the store at start. A key file made just now beside a store whose
 * secrets are sealed under another key is removed again and the start refused: the right key
 * was lost or not copied, and every job leased would fail. An old key only warns (a few jobs
 * left under it, e.g. from before a rotation, fail alone when leased).
 */
export async function checkStoreKey(store: JobStore, k: { key: SecretKey; created: boolean; file: string }, log: Logger): Promise<void> {
  const foreign = await foreignKeyIds(store, k.key);
  if (foreign.length > 0 && k.created) {
    fs.rmSync(k.file, { force: true });
    throw new ConfigError(`secret key file ${k.file} was missing, but the store holds secret params encrypted with key ${foreign.join(', ')}: put that key file back (restore it from the backup kept with the database; with PostgreSQL, copy it from another coordinator) or point server.secret_key_file at it, and start again`);
  }
  if (foreign.length > 0) log.warn({ keys: foreign, key: k.key.id, file: k.file }, 'the store holds secret params encrypted with keys this coordinator does not have: their jobs fail when leased (server.secret_key_file; drover secrets rotate)');
  if (k.created) log.info({ file: k.file, key: k.key.id }, 'created a secret key file for secret params; back it up with the database');
}
