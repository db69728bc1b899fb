import type Database from 'better-sqlite3';
import { trigramSearchable } from '../like.js';
import type { SearchIndexChange } from '../store.js';

/**
 * The optional text search index of the SQLite store (`server.search_index`): an FTS5 table
 * with the trigram tokenizer over each job's id, error and non-secret param values, kept by
 * triggers. It is not a numbered migration: turning it on builds it, turning it off drops it,
 * because it costs about 0.7x the database's size and time on every enqueue (see the README's
 * dashboard benchmark). Contentless (it keeps no copy of the text; the exact LIKE of where.ts
 * reads the row), with full detail so that a phrase is a substring query.
 *
 * Rows are keyed by the jobs' rowid: a VACUUM renumbers those, so after one the index is turned
 * off and on again (the server's log says how).
 */
const TABLE = 'jobs_text';
const TRIGGERS = ['jobs_text_insert', 'jobs_text_update', 'jobs_text_delete'] as const;

/** The text a job is found by, of row `r` (`new`, `old`, or the table itself). The secret params' values never go in. */
function bodyOf(r: string): string {
  return `${r}.id || ' ' || COALESCE(${r}.error, '') || ' ' || COALESCE((SELECT group_concat(p.value, ' ') FROM json_each(${r}.params) p WHERE p.key NOT IN (SELECT value FROM json_each(${r}.secrets))), '')`;
}

/** Whether the index exists. */
export function searchIndexOn(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(TABLE) !== undefined;
}

/** Builds (`on`) or drops the index; nothing when it already is as asked. Building reads every job once, in one transaction. */
export function setSearchIndex(db: Database.Database, on: boolean): SearchIndexChange {
  const exists = searchIndexOn(db);
  if (on === exists) return { change: null, jobs: 0 };
  if (!on) {
    db.transaction(() => {
      for (const t of TRIGGERS) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
      db.exec(`DROP TABLE ${TABLE}`);
    })();
    return { change: 'dropped', jobs: 0 };
  }
  let jobs = 0;
  db.transaction(() => {
    db.exec(`CREATE VIRTUAL TABLE ${TABLE} USING fts5(body, tokenize = 'trigram', content = '', contentless_delete = 1)`);
    jobs = db.prepare(`INSERT INTO ${TABLE} (rowid, body) SELECT rowid, ${bodyOf('jobs')} FROM jobs`).run().changes;
    db.exec(`CREATE TRIGGER jobs_text_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO ${TABLE} (rowid, body) VALUES (new.rowid, ${bodyOf('new')});
END`);
    // Claims and outcomes set error (mostly to what it was): only a real change rewrites the entry.
    db.exec(`CREATE TRIGGER jobs_text_update AFTER UPDATE OF error, params, secrets ON jobs
WHEN old.error IS NOT new.error OR old.params IS NOT new.params OR old.secrets IS NOT new.secrets BEGIN
  DELETE FROM ${TABLE} WHERE rowid = old.rowid;
  INSERT INTO ${TABLE} (rowid, body) VALUES (new.rowid, ${bodyOf('new')});
END`);
    db.exec(`CREATE TRIGGER jobs_text_delete AFTER DELETE ON jobs BEGIN
  DELETE FROM ${TABLE} WHERE rowid = old.rowid;
END`);
  })();
  return { change: 'built', jobs };
}

/**
 * At most this many candidates are read from the index. A text found in more jobs than that is
 * common: scanning the jobs in order finds a page of it sooner than sorting every candidate.
 */
export const SEARCH_CANDIDATES_MAX = 5_000;

/**
 * The rowids of the jobs whose text may contain `q` (a superset: the index folds case beyond
 * ASCII and joins the values), or null when the index cannot narrow the search: it is off, `q`
 * is shorter than a trigram, or more than SEARCH_CANDIDATES_MAX jobs match.
 */
export function searchCandidates(db: Database.Database, q: string | undefined): number[] | null {
  if (q === undefined || !trigramSearchable(q) || !searchIndexOn(db)) return null;
  // A phrase of the trigram tokenizer matches a substring; inside quotes only `"` is special.
  const phrase = `"${q.replace(/"/g, '""')}"`;
  const ids = db.prepare(`SELECT rowid FROM ${TABLE} WHERE ${TABLE} MATCH ? LIMIT ?`).pluck().all(phrase, SEARCH_CANDIDATES_MAX + 1) as number[];
  return ids.length > SEARCH_CANDIDATES_MAX ? null : ids;
}
