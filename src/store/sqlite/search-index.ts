import fs from 'node:fs';
import Database from 'better-sqlite3';
import { ConfigError, errorMessage } from '../../core/errors.js';
import { trigramSearchable } from '../like.js';
import type { SearchIndexChange } from '../store.js';
import { startIndexer, type Indexer, type IndexerMessage } from './search-indexer.js';

/**
 * The text search index of the SQLite store (`server.search_index`): an FTS5 table with the
 * trigram tokenizer over each job's id, error and non-secret param values. It lives in a file
 * of its own next to the jobs database (`drover.db-search`) and is written by a thread of its
 * own (search-indexer.ts): the jobs database's triggers only log which rows changed
 * (jobs_text_pending, a few µs per job), so enqueues and outcomes never wait on it. Until the
 * thread has caught up, the logged rows are searched as they are, so a search finds every job
 * at any moment. Not a numbered migration: turning it on builds it in the background, turning
 * it off drops it. The file can be deleted while the coordinator is stopped: it is built again,
 * as it is when it does not fit the log (the jobs database restored from a backup).
 *
 * Rows are keyed by the jobs' rowid: a VACUUM renumbers those, so after one the index is turned
 * off and on again.
 */
const LOG = 'jobs_text_pending';
const TRIGGERS = ['jobs_text_insert', 'jobs_text_update', 'jobs_text_delete'] as const;
/** The index of earlier versions, inside the jobs database and written by its triggers: replaced on open. */
const LEGACY_TABLE = 'jobs_text';

/**
 * At most this many candidates are read from the index. A text found in more jobs than that is
 * common: scanning the jobs in order finds a page of it sooner than sorting every candidate.
 */
export const SEARCH_CANDIDATES_MAX = 5_000;

/** Jobs indexed per transaction of the thread: 2,000 took 26 µs per job at 200,000 jobs, 50 took 336. */
const CHUNK = 2_000;
/** How often the idle thread looks for changes, in ms. */
const POLL_MS = 200;

/**
 * Whether an index that has the log `log` up to `@seq` is this log's (1 or 0). The log holds
 * every change after what was indexed (it is pruned only up to that) and keeps its newest
 * entry, so it starts at or before `seq + 1` and ends at or after `seq`. An index of another
 * log fits neither: the jobs database restored from a backup older or newer than the index,
 * the index's last commits lost to a power cut while the prune that followed them was not.
 * One rule for the store and its thread.
 */
function fitsSqlOf(log: string): string {
  return `SELECT CASE WHEN MIN(seq) IS NULL THEN @seq = 0 ELSE MIN(seq) - 1 <= @seq AND @seq <= MAX(seq) END FROM ${log}`;
}

/** The index's place in the log and whether it is built (built_to null), as its file says; undefined before the thread made it. */
function indexStateOf(reader: Database.Database): { seq: number; builtTo: number | null } | undefined {
  return reader.prepare('SELECT last_seq AS seq, built_to AS builtTo FROM search_state WHERE id = 1').get() as { seq: number; builtTo: number | null } | undefined;
}

/** The text a job is found by, of row `r`. The secret params' values never go in. */
function bodyOf(r: string): string {
  return `${r}.id || ' ' || COALESCE(${r}.error, '') || ' ' || COALESCE((SELECT group_concat(p.value, ' ') FROM json_each(${r}.params) p WHERE p.key NOT IN (SELECT value FROM json_each(${r}.secrets))), '')`;
}

/** The search index of one open jobs database. */
export class SqliteSearchIndex {
  private indexer: Indexer | null = null;
  private reader: Database.Database | null = null;
  private lastError: string | null = null;

  /**
   * `file`: the jobs database's path (null in memory: no index). An index of an earlier
   * version, inside the jobs database, is replaced by this one, still on.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly file: string | null,
    private readonly onError: (message: string) => void = () => {},
  ) {
    if (this.file === null) return;
    if (this.tableExists(LEGACY_TABLE)) {
      this.dropLegacy();
      this.createLog();
    }
    if (this.isOn()) {
      // Before anything is written (and logged): an index that does not fit the log goes now.
      if (!this.fileFitsLog()) this.removeFile();
      this.start();
    }
  }

  /** The index's own database file. */
  get searchPath(): string {
    return `${this.file}-search`;
  }

  /** Whether the index is on (the change log and its triggers are there). */
  isOn(): boolean {
    return this.tableExists(LOG);
  }

  /** Turns it on (built in the background) or off; nothing when it already is as asked. */
  async set(on: boolean): Promise<SearchIndexChange> {
    if (on === this.isOn()) return { change: null, jobs: 0 };
    if (on) {
      if (this.file === null) throw new ConfigError('server.search_index needs the SQLite database in a file, not in memory');
      this.createLog();
      this.start();
      return { change: 'built', jobs: (this.db.prepare('SELECT COUNT(*) FROM jobs').pluck().get() as number) };
    }
    await this.close();
    // The file first: stopped in between, the index is still on, and built again.
    this.removeFile();
    this.db.transaction(() => {
      for (const t of TRIGGERS) this.db.exec(`DROP TRIGGER IF EXISTS ${t}`);
      this.db.exec(`DROP TABLE IF EXISTS ${LOG}`);
    })();
    return { change: 'dropped', jobs: 0 };
  }

  /**
   * The rowids of the jobs whose text may contain `q` (a superset: the index folds case beyond
   * ASCII and joins the values; the jobs changed since the thread last indexed are all in it),
   * or null when the index cannot narrow the search: it is off or still being built, `q` is
   * shorter than a trigram, or more than SEARCH_CANDIDATES_MAX jobs match.
   */
  candidates(q: string | undefined): number[] | null {
    // isOn: another store on the file (a tool) may have turned it off.
    if (q === undefined || !trigramSearchable(q) || this.indexer === null || !this.isOn()) return null;
    const reader = this.openReader();
    if (reader === null) return null;
    // A phrase of the trigram tokenizer matches a substring; inside quotes only `"` is special.
    const phrase = `"${q.replace(/"/g, '""')}"`;
    // The state and the matches of one snapshot: the log after last_seq is what they lack.
    const found = reader.transaction(() => {
      const s = indexStateOf(reader);
      if (!s || s.builtTo !== null) return null;
      return { seq: s.seq, ids: reader.prepare('SELECT rowid FROM jobs_text WHERE jobs_text MATCH ? LIMIT ?').pluck().all(phrase, SEARCH_CANDIDATES_MAX + 1) as number[] };
    })();
    if (found === null || found.ids.length > SEARCH_CANDIDATES_MAX || !this.fitsLog(found.seq)) return null;
    const changed = this.db.prepare(`SELECT DISTINCT job_rowid FROM ${LOG} WHERE seq > ? LIMIT ?`).pluck().all(found.seq, SEARCH_CANDIDATES_MAX + 1) as number[];
    const all = new Set([...found.ids, ...changed]);
    return all.size > SEARCH_CANDIDATES_MAX ? null : [...all];
  }

  /** Whether the index is built, and how many changes wait for the thread; with its last error. */
  state(): { on: boolean; built: boolean; backlog: number; error: string | null } {
    if (!this.isOn()) return { on: false, built: false, backlog: 0, error: this.lastError };
    const reader = this.openReader();
    const s = reader ? indexStateOf(reader) : undefined;
    const backlog = this.db.prepare(`SELECT COUNT(*) FROM ${LOG} WHERE seq > ?`).pluck().get(s?.seq ?? 0) as number;
    return { on: true, built: s !== undefined && s.builtTo === null && this.fitsLog(s.seq), backlog, error: this.lastError };
  }

  /** Whether an index that has the log up to `seq` is this log's (fitsSqlOf). */
  private fitsLog(seq: number): boolean {
    return this.db.prepare(fitsSqlOf(LOG)).pluck().get({ seq }) === 1;
  }

  /** Whether the index's file, if there is one, fits the log (fitsLog); a file it cannot read does not. */
  private fileFitsLog(): boolean {
    if (!fs.existsSync(this.searchPath)) return true;
    try {
      const r = new Database(this.searchPath, { fileMustExist: true, readonly: true });
      try {
        const built = r.prepare("SELECT 1 FROM sqlite_master WHERE name = 'search_state'").get() !== undefined;
        const s = built ? indexStateOf(r) : undefined;
        return s === undefined || this.fitsLog(s.seq);
      } finally {
        r.close();
      }
    } catch {
      return false;
    }
  }

  private removeFile(): void {
    for (const f of [this.searchPath, `${this.searchPath}-wal`, `${this.searchPath}-shm`]) fs.rmSync(f, { force: true });
  }

  /** Stops the thread and lets go of the index's file. */
  async close(): Promise<void> {
    const indexer = this.indexer;
    this.indexer = null;
    this.reader?.close();
    this.reader = null;
    await indexer?.stop();
  }

  private start(): void {
    if (this.indexer !== null || this.file === null) return;
    // Its file holds what the jobs' params say: only its owner reads it, as the jobs database.
    fs.closeSync(fs.openSync(this.searchPath, 'a', 0o600));
    this.indexer = startIndexer({ jobsPath: this.file, searchPath: this.searchPath, bodySql: bodyOf('j'), fitsSql: fitsSqlOf(`j.${LOG}`), chunk: CHUNK, pollMs: POLL_MS }, (m) => this.heard(m));
  }

  private heard(m: IndexerMessage): void {
    if (m.t === 'error') {
      this.lastError = m.message;
      this.onError(`the text search index is behind: ${m.message}`);
      return;
    }
    this.lastError = null;
    // What is indexed leaves the log, but its newest entry: SQLite numbers a new entry one past
    // the highest there, so kept, no change is ever numbered at or below what was indexed.
    // (AUTOINCREMENT would too, at the price of a write to sqlite_sequence on every enqueue.)
    // A prune that fails (a full disk, a busy file) is done by a later message: the log only waits longer.
    try {
      if (this.db.open && this.isOn()) this.db.prepare(`DELETE FROM ${LOG} WHERE seq <= ? AND seq < (SELECT MAX(seq) FROM ${LOG})`).run(m.seq);
    } catch (err) {
      this.lastError = `cannot prune the index's log: ${errorMessage(err)}`;
    }
  }

  private openReader(): Database.Database | null {
    if (this.reader === null && fs.existsSync(this.searchPath)) {
      try {
        const r = new Database(this.searchPath, { fileMustExist: true });
        r.pragma('query_only = ON');
        // The thread makes the tables; until it has, there is nothing to read.
        if (r.prepare("SELECT 1 FROM sqlite_master WHERE name = 'search_state'").get() === undefined) {
          r.close();
          return null;
        }
        this.reader = r;
      } catch {
        return null;
      }
    }
    return this.reader;
  }

  private createLog(): void {
    this.db.transaction(() => {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${LOG} (seq INTEGER PRIMARY KEY, job_rowid INTEGER NOT NULL)`);
      this.db.exec(`CREATE TRIGGER IF NOT EXISTS jobs_text_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO ${LOG} (job_rowid) VALUES (new.rowid);
END`);
      // Claims and outcomes set error (mostly to what it was): only a real change is logged.
      this.db.exec(`CREATE TRIGGER IF NOT EXISTS jobs_text_update AFTER UPDATE OF error, params, secrets ON jobs
WHEN old.error IS NOT new.error OR old.params IS NOT new.params OR old.secrets IS NOT new.secrets BEGIN
  INSERT INTO ${LOG} (job_rowid) VALUES (new.rowid);
END`);
      this.db.exec(`CREATE TRIGGER IF NOT EXISTS jobs_text_delete AFTER DELETE ON jobs BEGIN
  INSERT INTO ${LOG} (job_rowid) VALUES (old.rowid);
END`);
    })();
  }

  private dropLegacy(): void {
    this.db.transaction(() => {
      for (const t of TRIGGERS) this.db.exec(`DROP TRIGGER IF EXISTS ${t}`);
      this.db.exec(`DROP TABLE IF EXISTS ${LEGACY_TABLE}`);
    })();
  }

  private tableExists(name: string): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  }
}
