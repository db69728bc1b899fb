import fs from 'node:fs';
import path from 'node:path';
import { serverSettingsOf } from '../config/config.js';
import { ValidationError } from '../core/errors.js';
import { loadOrCreateSecretKeyFile, readSecretKeyFile, SecretBox, type SecretKey } from '../core/secret-box.js';
import { defaultSecretKeyFile } from '../coordinator/secret-key.js';
import { rotateSecrets, type RotationReport } from '../coordinator/secret-rotation.js';
import { openStore, sqliteLockFile, sqlitePathOf } from '../store/open-store.js';
import { claimLockFile } from '../supervise/lock-file.js';
import { configOf } from './client-context.js';
import { plural } from './format.js';
import { describeDb } from './migrate-action.js';

interface RotateFlags {
  newKeyFile: string;
  /** Keys values may be sealed under now; default the configured key file. */
  keyFile?: string[];
  data?: string;
  db?: string;
  config?: string;
}

/**
 * `drover secrets rotate --new-key-file F`: re-encrypts every secret param in the store under
 * the key in F (created if missing), from the current key and from plaintext. The key file is
 * not replaced: the user points `server.secret_key_file` at F once it is done, so the old key
 * stays usable until then (and for backups made before). Coordinators must be stopped.
 */
export async function rotateAction(f: RotateFlags): Promise<void> {
  const s = serverSettingsOf(configOf(f).config.server);
  const dataDir = f.data ?? s.dataDir;
  const db = f.db ?? process.env.DROVER_DB ?? s.db ?? path.join(dataDir, 'drover.db');
  const configured = s.secretKeyFile ?? defaultSecretKeyFile(dataDir);
  // The configured key may not exist yet (a store from before encryption at rest: plaintext only).
  const oldFiles = f.keyFile ?? (fs.existsSync(configured) ? [configured] : []);
  const oldKeys = oldFiles.map((file) => ({ file, key: readSecretKeyFile(file) }));
  const file = sqlitePathOf(db);
  if (file !== null && !fs.existsSync(file)) throw new ValidationError(`${db}: there is no SQLite database at ${path.resolve(file)} (give --data or --db)`);
  // A running coordinator would keep sealing new jobs under the old key: it must be stopped. Held until done, so none starts meanwhile.
  const release = file === null ? () => {} : claimLockFile(sqliteLockFile(path.resolve(file)), {
    inUse: (h) => new ValidationError(`${file} is in use by a running drover coordinator (pid ${h.pid}): stop it first; secrets rotate rewrites its jobs' params`),
    cannotWrite: (err) => new ValidationError(`cannot lock ${file}: ${err.message}`),
  });
  try {
    const { key: newKey, created } = loadOrCreateSecretKeyFile(f.newKeyFile);
    if (created) out(`created ${f.newKeyFile} (key ${newKey.id})`);
    const store = await openStore(db, { listen: false });
    try {
      // On PostgreSQL a running coordinator holds the maintenance lock (within a second of its start).
      if (store.tryLead && !(await store.tryLead())) throw new ValidationError(`${describeDb(db)}: a drover coordinator is running on this database (it holds the maintenance lock): stop every coordinator first, then rotate`);
      const report = await rotateSecrets(store, new SecretBox(newKey, oldKeys.map((k) => k.key)));
      out(summary(report, newKey, f.newKeyFile));
      if (report.unreadable.length > 0) throw new ValidationError(unreadableMessage(report));
      out(nextSteps(f.newKeyFile, newKey, oldKeys, configured));
    } finally {
      await store.close();
    }
  } finally {
    release();
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function summary(r: RotationReport, key: SecretKey, file: string): string {
  const done = r.rekeyed + r.plaintext;
  const where = [r.jobs > 0 ? plural(r.jobs, 'job') : '', r.schedules > 0 ? plural(r.schedules, 'schedule') : ''].filter(Boolean).join(' and ');
  const from = r.plaintext > 0 ? ` (${r.plaintext} of them plaintext)` : '';
  return `encrypted ${plural(done, 'secret value')}${from}${done > 0 ? ` in ${where}` : ''} under key ${key.id} (${file}); ${r.already} already were`;
}

function unreadableMessage(r: RotationReport): string {
  const parts = r.unreadable.map((u) => (u.missingKey ? `${u.count} encrypted with key ${u.keyId}, which no --key-file holds` : `${u.count} that do not open under key ${u.keyId} (altered, or copied from elsewhere)`));
  return `${parts.join('; ')}: those values are left as they are. Give each missing key with --key-file (repeatable) and run again; the rest is done`;
}

function nextSteps(newFile: string, key: SecretKey, old: Array<{ file: string; key: SecretKey }>, configured: string): string {
  if (old.length === 1 && old[0]?.key.id === key.id) return `the coordinators' key is unchanged (${configured})`;
  const keep = old.length > 0 ? `; keep ${old.map((k) => `${k.file} (key ${k.key.id})`).join(', ')} until then, and as long as you keep database backups made before now` : '';
  return `now point server.secret_key_file at ${newFile} (every coordinator of this store) and start the coordinators${keep}`;
}
