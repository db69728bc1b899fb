import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir, waitFor } from '../support/tmp.js';
import type { ResolvedNewJob } from '../../src/store/store.js';
import { jobFixture, T0 } from './contract/index.js';

const job = (o: Partial<ResolvedNewJob> & { id: string }) => jobFixture(o.id, o);

/**
 * The SQLite store's text search index, written by a thread of its own into a file of its own
 * (the contract suite checks what a search finds; this, how the index follows the jobs).
 */

const stores: SqliteJobStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

function open(file: string): SqliteJobStore {
  const s = SqliteJobStore.open({ path: file });
  stores.push(s);
  return s;
}

const ids = async (s: SqliteJobStore, q: string) => (await s.list({ q, limit: 100 })).jobs.map((j) => j.id).sort();

/** Until the thread has built the index and indexed every change. */
async function caughtUp(s: SqliteJobStore): Promise<void> {
  await waitFor(() => {
    const st = s.searchIndexState();
    if (st.error) throw new Error(st.error);
    return st.built && st.backlog === 0;
  }, 30_000, 'the index caught up');
}

/** How many jobs the index file holds postings of `q` for. */
function postings(file: string, q: string): number {
  const db = new Database(`${file}-search`, { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM jobs_text WHERE jobs_text MATCH ?').pluck().get(`"${q}"`) as number;
  } finally {
    db.close();
  }
}

describe('the SQLite text search index', () => {
  it('finds a job at once, before its thread has indexed it, and after; the secret is never in it', async () => {
    const file = path.join(tempDir(), 'drover.db');
    const s = open(file);
    expect(await s.setSearchIndex({ on: true })).toEqual({ change: 'built', jobs: 0 });
    await caughtUp(s);
    await s.enqueue({ now: T0, jobs: [job({ id: 'a1', params: { camera: 'lobby-east', password: 'hunter2-secret' }, secrets: ['password'] })] });
    // Straight after the enqueue: the change log is searched as it is.
    expect(await ids(s, 'lobby-e')).toEqual(['a1']);
    await caughtUp(s);
    expect(await ids(s, 'lobby-e')).toEqual(['a1']);
    expect(await ids(s, 'hunter2')).toEqual([]);
    expect(postings(file, 'lobby-east')).toBe(1);
    expect(postings(file, 'hunter2')).toBe(0);
  });

  it('follows changed errors and deleted jobs, also when a new job takes a deleted one’s rowid', async () => {
    const file = path.join(tempDir(), 'drover.db');
    const s = open(file);
    await s.setSearchIndex({ on: true });
    await s.enqueue({ now: T0, jobs: [job({ id: 'b1', params: { camera: 'garage' } }), job({ id: 'b2', params: { camera: 'old-camera' } })] });
    await caughtUp(s);
    // The newest job goes; SQLite gives its rowid to the next one.
    const db = new Database(file);
    db.prepare("DELETE FROM jobs WHERE id = 'b2'").run();
    db.prepare("UPDATE jobs SET error = 'NVR refused: 401' WHERE id = 'b1'").run();
    db.close();
    await s.enqueue({ now: T0 + 1, jobs: [job({ id: 'b3', params: { camera: 'new-camera' } })] });
    for (const when of ['logged', 'indexed']) {
      if (when === 'indexed') await caughtUp(s);
      expect(await ids(s, 'old-camera'), when).toEqual([]);
      expect(await ids(s, 'new-camera'), when).toEqual(['b3']);
      expect(await ids(s, 'refused'), when).toEqual(['b1']);
    }
    expect(postings(file, 'new-camera')).toBe(1);
    expect(postings(file, 'refused')).toBe(1);
  });

  it('builds itself again when its file is gone, and goes with it when turned off', async () => {
    const file = path.join(tempDir(), 'drover.db');
    let s = open(file);
    await s.enqueue({ now: T0, jobs: Array.from({ length: 4_500 }, (_, i) => job({ id: `c${i}`, params: { camera: `cam-${i}` } })) });
    expect(await s.setSearchIndex({ on: true })).toEqual({ change: 'built', jobs: 4_500 });
    await caughtUp(s);
    expect(postings(file, 'cam-4499')).toBe(1);
    await s.close();
    for (const f of fs.readdirSync(path.dirname(file)).filter((f) => f.includes('-search'))) fs.rmSync(path.join(path.dirname(file), f));

    s = open(file);
    expect(await ids(s, 'cam-4499')).toEqual(['c4499']);
    await caughtUp(s);
    expect(postings(file, 'cam-4499')).toBe(1);
    expect((fs.statSync(`${file}-search`).mode & 0o777).toString(8)).toBe('600');

    expect(await s.setSearchIndex({ on: false })).toEqual({ change: 'dropped', jobs: 0 });
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.includes('-search'))).toEqual([]);
    expect(await ids(s, 'cam-4499')).toEqual(['c4499']);
  });

  it('builds itself anew when the jobs database is restored from a backup older than the index', async () => {
    const file = path.join(tempDir(), 'drover.db');
    const backup = `${file}.backup`;
    let s = open(file);
    await s.setSearchIndex({ on: true });
    await s.enqueue({ now: T0, jobs: [job({ id: 'e1', params: { camera: 'before-backup' } })] });
    await caughtUp(s);
    await s.close();
    fs.copyFileSync(file, backup);
    s = open(file);
    await s.enqueue({ now: T0 + 1, jobs: [job({ id: 'e2', params: { camera: 'after-backup-1' } }), job({ id: 'e3', params: { camera: 'after-backup-2' } })] });
    await caughtUp(s);
    await s.close();
    // The backup back in place; the index file is the newer one.
    fs.copyFileSync(backup, file);
    s = open(file);
    await s.enqueue({ now: T0 + 2, jobs: [job({ id: 'e4', params: { camera: 'after-restore' } })] });
    await caughtUp(s);
    expect(await ids(s, 'after-restore')).toEqual(['e4']);
    expect(await ids(s, 'before-backup')).toEqual(['e1']);
    expect(await ids(s, 'after-backup')).toEqual([]);
    expect(postings(file, 'after-restore')).toBe(1);
    expect(postings(file, 'after-backup')).toBe(0);
  });

  it('builds itself anew when its own file is older than the log (restored from a backup, or its last commits lost)', async () => {
    const file = path.join(tempDir(), 'drover.db');
    let s = open(file);
    await s.setSearchIndex({ on: true });
    await s.enqueue({ now: T0, jobs: [job({ id: 'f1', params: { camera: 'in-old-index' } })] });
    await caughtUp(s);
    await s.close();
    const old = `${file}-search.old`;
    fs.copyFileSync(`${file}-search`, old);
    s = open(file);
    // Enough changes that the log is pruned past where the old index stands.
    await s.enqueue({ now: T0 + 1, jobs: Array.from({ length: 5 }, (_, i) => job({ id: `f${i + 2}`, params: { camera: `after-old-index-${i}` } })) });
    await caughtUp(s);
    await s.close();
    fs.copyFileSync(old, `${file}-search`);
    s = open(file);
    expect(await ids(s, 'after-old-index')).toEqual(['f2', 'f3', 'f4', 'f5', 'f6']);
    await caughtUp(s);
    expect(await ids(s, 'after-old-index')).toEqual(['f2', 'f3', 'f4', 'f5', 'f6']);
    expect(postings(file, 'after-old-index-4')).toBe(1);
  });

  it('replaces the index of earlier versions, inside the jobs database, keeping it on', async () => {
    const file = path.join(tempDir(), 'drover.db');
    let s = open(file);
    await s.enqueue({ now: T0, jobs: [job({ id: 'd1', params: { camera: 'yard' } })] });
    await s.close();
    stores.splice(0);
    const db = new Database(file);
    db.exec("CREATE VIRTUAL TABLE jobs_text USING fts5(body, tokenize = 'trigram', content = '', contentless_delete = 1)");
    db.exec("CREATE TRIGGER jobs_text_insert AFTER INSERT ON jobs BEGIN INSERT INTO jobs_text (rowid, body) VALUES (new.rowid, new.id); END");
    db.close();

    s = open(file);
    expect(s.searchIndexState().on).toBe(true);
    await s.enqueue({ now: T0 + 1, jobs: [job({ id: 'd2', params: { camera: 'yard-north' } })] });
    await caughtUp(s);
    expect(await ids(s, 'yard')).toEqual(['d1', 'd2']);
    const left = new Database(file, { readonly: true });
    expect(left.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'jobs_text%' ORDER BY name").pluck().all()).toEqual(['jobs_text_delete', 'jobs_text_insert', 'jobs_text_pending', 'jobs_text_update']);
    left.close();
  });
});
