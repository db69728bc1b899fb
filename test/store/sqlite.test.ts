import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir, waitFor } from '../support/tmp.js';
import { jobFixture, runStoreContract, T0 } from './contract/index.js';

runStoreContract('sqlite', async () => {
  const file = path.join(tempDir(), 'drover.db');
  const store = SqliteJobStore.open({ path: file });
  const others: SqliteJobStore[] = [];
  return {
    store,
    async another() {
      const s = SqliteJobStore.open({ path: file });
      others.push(s);
      return s;
    },
    async cleanup() {
      for (const s of others) await s.close();
      await store.close();
    },
  };
});

const job = jobFixture;

/** Expects `fn` to throw a ConfigError whose message names `file`; returns the message. */
function expectConfigError(fn: () => unknown, file: string): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as ConfigError).message;
  expect(message).toContain(file);
  return message;
}

describe('SqliteJobStore (SQLite only)', () => {
  const open: SqliteJobStore[] = [];
  const openStore = (file: string) => {
    const s = SqliteJobStore.open({ path: file });
    open.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('keeps jobs, attempts and logs in the file across a reopen', async () => {
    const file = path.join(tempDir(), 'drover.db');
    const first = openStore(file);
    await first.enqueue({ jobs: [job('a0001', { params: { url: 'http://x/1' }, tags: ['t'] }), job('a0002', { runAt: T0 + 60_000 })], now: T0 });
    const [claimed] = await first.claim({ worker: 'w1', kinds: ['noop'], templates: [], queues: [], limit: 1, leaseMs: 30_000, now: T0 });
    await first.complete({ items: [{ id: 'a0001', token: claimed!.lease!.token, outcome: 'failed', error: 'boom' }], now: T0 + 1, random: () => 0 });
    await first.appendLog({ jobId: 'a0001', chunks: [{ stream: 'stdout', text: 'hello' }], now: T0 + 1 });
    await first.upsertWorker({ worker: { name: 'w1', host: 'h', kinds: ['noop'], templates: [], slots: 1, running: 0, version: 'v' }, now: T0 });
    const before = { a: await first.get('a0001'), b: await first.get('a0002'), attempts: await first.attempts({ jobId: 'a0001' }) };
    await first.close();

    const second = openStore(file);
    expect(await second.get('a0001')).toEqual(before.a);
    expect(await second.get('a0002')).toEqual(before.b);
    expect(await second.attempts({ jobId: 'a0001' })).toEqual(before.attempts);
    expect((await second.readLog({ jobId: 'a0001', after: 0, limit: 10 })).map((c) => c.text)).toEqual(['hello']);
    expect((await second.listWorkers()).map((w) => w.name)).toEqual(['w1']);
    expect(await second.nextDueAt()).toBe(before.a!.runAt);
  });

  it('moves the WAL into the database on a thread of its own, not in a commit of the coordinator', async () => {
    const file = path.join(tempDir(), 'drover.db');
    const store = openStore(file);
    const size = () => fs.statSync(file).size;
    const before = size();
    // About 1,200 pages of WAL: over SQLite's default automatic checkpoint (1,000 pages), under
    // the store's own bound, so only the thread can have put them in the file.
    for (let i = 0; i < 20; i++) {
      await store.enqueue({ jobs: Array.from({ length: 100 }, (_, k) => job(`c${String(i * 100 + k).padStart(5, '0')}`, { params: { pad: 'x'.repeat(1500) } })), now: T0 });
    }
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(1_000 * 4096);
    await waitFor(() => size() > before + 3_000_000, 30_000, 'the checkpoint thread to write the WAL into the database');
    expect(await store.get('c01999')).not.toBeNull();
  });

    it('creates missing parent directories', async () => {
    const file = path.join(tempDir(), 'nested', 'deeper', 'drover.db');
    const s = openStore(file);
    await s.enqueue({ jobs: [job('b0001')], now: T0 });
    expect(fs.existsSync(file)).toBe(true);
  });

  it('is at the newest schema version, and reopening applies nothing twice', async () => {
    const file = path.join(tempDir(), 'drover.db');
    const newest = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));
    expect(openStore(file).schemaVersion()).toBe(newest);
    await open.pop()!.close();
    expect(openStore(file).schemaVersion()).toBe(newest);
    await open.pop()!.close();
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
      expect(rows.map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    } finally {
      db.close();
    }
  });

  it('refuses a database at a newer schema version than it knows', async () => {
    const file = path.join(tempDir(), 'drover.db');
    await openStore(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', T0);
    db.close();
    const message = expectConfigError(() => openStore(file), file);
    expect(message).toMatch(/newer/);
  });

  it('gives a ConfigError naming the path when the path is a directory', () => {
    const dir = tempDir();
    expectConfigError(() => openStore(dir), dir);
  });

  it('gives a ConfigError naming the path when its parent is a regular file', () => {
    const parent = path.join(tempDir(), 'not-a-dir');
    fs.writeFileSync(parent, 'x');
    const file = path.join(parent, 'drover.db');
    expectConfigError(() => openStore(file), file);
  });

  it('gives a ConfigError naming the path when the file is not a SQLite database', () => {
    const file = path.join(tempDir(), 'drover.db');
    fs.writeFileSync(file, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    expectConfigError(() => openStore(file), file);
  });

  // root may write anywhere, so a read-only directory only refuses other users.
  it.skipIf(process.getuid?.() === 0)('gives a ConfigError naming the path when the directory is not writable', () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o555);
    try {
      const file = path.join(dir, 'drover.db');
      expectConfigError(() => openStore(file), file);
    } finally {
      fs.chmodSync(dir, 0o755);
    }
  });

  it('tolerates closing twice', async () => {
    const s = openStore(path.join(tempDir(), 'drover.db'));
    await s.close();
    await s.close();
  });
});
