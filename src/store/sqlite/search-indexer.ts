import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

type Threads = typeof import('node:worker_threads');
type Driver = typeof import('better-sqlite3');

/** What the indexing thread is given. */
export interface IndexerData {
  /** The jobs database (read only here). */
  jobsPath: string;
  /** The index's own database file. */
  searchPath: string;
  /** The SQL of the text of a job row aliased `j` (search-index.ts), so both threads agree. */
  bodySql: string;
  /** The SQL that says whether an index at `@seq` fits the log `j.jobs_text_pending` (search-index.ts's fitsSqlOf), 1 or 0. */
  fitsSql: string;
  /** Jobs indexed per transaction. */
  chunk: number;
  /** How often an idle thread looks for changes, in ms. */
  pollMs: number;
}

/** What the thread tells the store: how far the change log is indexed, or what failed. */
export type IndexerMessage = { t: 'indexed'; seq: number } | { t: 'error'; message: string };

/**
 * The body of the indexing thread (stringified, so it needs no file of its own at run time).
 * It owns the index's database: it builds the index over every job once, then follows the
 * change log the jobs database's triggers write (jobs_text_pending), a chunk per transaction.
 * Its own file and thread keep the index's writes off the coordinator's event loop and out of
 * the jobs database's single writer lock: an FTS5 insert per enqueued job cost 0.7 ms at 1M
 * jobs, a batch of 2,000 here 26–70 µs per job on the other core.
 *
 * Postings of a job's older text may linger (FTS5 cannot always tell them apart without the
 * text): the index finds a superset and the exact match decides, so a stale posting costs a
 * candidate, never a miss.
 */
function indexerThread(Database: Driver, threads: Threads): void {
  const d = threads.workerData as IndexerData;
  const port = threads.parentPort as import('node:worker_threads').MessagePort;
  const db = new Database(d.searchPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.prepare('ATTACH DATABASE ? AS j').run(d.jobsPath);
  db.exec(`CREATE TABLE IF NOT EXISTS search_state (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL, built_to INTEGER)`);
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS jobs_text USING fts5(body, tokenize = 'trigram', content = '', contentless_delete = 1)`);
  const state = db.prepare('SELECT last_seq AS seq, built_to AS builtTo FROM search_state WHERE id = 1');
  // Building: every job up to the change log's end as it was when the build began; what changed since is in the log after that.
  const begin = db.prepare('INSERT INTO search_state (id, last_seq, built_to) SELECT 1, COALESCE(MAX(seq), 0), 0 FROM j.jobs_text_pending');
  const buildChunk = db.prepare(`INSERT OR REPLACE INTO jobs_text (rowid, body) SELECT j.rowid, ${d.bodySql} FROM j.jobs j WHERE j.rowid > ? ORDER BY j.rowid LIMIT ?`);
  const builtTo = db.prepare('SELECT MAX(rowid) FROM (SELECT rowid FROM j.jobs WHERE rowid > ? ORDER BY rowid LIMIT ?)').pluck();
  const setBuilt = db.prepare('UPDATE search_state SET built_to = ? WHERE id = 1');
  const upTo = db.prepare('SELECT MAX(seq) FROM (SELECT seq FROM j.jobs_text_pending WHERE seq > ? ORDER BY seq LIMIT ?)').pluck();
  const dropGone = db.prepare('DELETE FROM jobs_text WHERE rowid IN (SELECT p.job_rowid FROM j.jobs_text_pending p WHERE p.seq > ? AND p.seq <= ? AND NOT EXISTS (SELECT 1 FROM j.jobs WHERE rowid = p.job_rowid))');
  const reindex = db.prepare(`INSERT OR REPLACE INTO jobs_text (rowid, body) SELECT j.rowid, ${d.bodySql} FROM j.jobs j WHERE j.rowid IN (SELECT job_rowid FROM j.jobs_text_pending WHERE seq > ? AND seq <= ?)`);
  const setSeq = db.prepare('UPDATE search_state SET last_seq = ? WHERE id = 1');
  const fits = db.prepare(d.fitsSql).pluck();
  // A write to this file first: the transaction's lock is then on it alone (BEGIN IMMEDIATE
  // would take the attached jobs database's write lock too, and hold off its enqueues).
  const lockIndex = db.prepare('UPDATE search_state SET last_seq = last_seq WHERE id = 1');
  const forget = db.prepare('DELETE FROM search_state');
  const emptyIndex = db.prepare("INSERT INTO jobs_text (jobs_text) VALUES ('delete-all')");

  /** One transaction of work; whether there is more. Its first write (lockIndex) makes a second store on the file wait its turn instead of indexing the same chunk. */
  const step = db.transaction((): { more: boolean; seq: number | null } => {
    lockIndex.run();
    let s = state.get() as { seq: number; builtTo: number | null } | undefined;
    // An index whose place is outside the log belongs to another log (search-index.ts's
    // fitsSqlOf): built anew.
    if (s && fits.get({ seq: s.seq }) !== 1) {
      forget.run();
      emptyIndex.run();
      s = undefined;
    }
    if (!s) {
      begin.run();
      s = state.get() as { seq: number; builtTo: number | null };
    }
    if (s.builtTo !== null) {
      const last = builtTo.get(s.builtTo, d.chunk) as number | null;
      if (last !== null) buildChunk.run(s.builtTo, d.chunk);
      setBuilt.run(last);
      return { more: true, seq: null };
    }
    const to = upTo.get(s.seq, d.chunk) as number | null;
    if (to === null) return { more: false, seq: null };
    dropGone.run(s.seq, to);
    reindex.run(s.seq, to);
    setSeq.run(to);
    return { more: true, seq: to };
  });

  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  const loop = () => {
    timer = undefined;
    if (stopping) return;
    let more = false;
    try {
      const r = step();
      more = r.more;
      failures = 0;
      if (r.seq !== null) port.postMessage({ t: 'indexed', seq: r.seq } satisfies IndexerMessage);
    } catch (err) {
      // A full disk or a locked file: say so once per run of failures, and try again later.
      if (failures++ === 0) port.postMessage({ t: 'error', message: err instanceof Error ? err.message : String(err) } satisfies IndexerMessage);
    }
    // A turn of the thread's event loop between chunks: a stop message is handled in between.
    timer = setTimeout(loop, more ? 0 : failures ? Math.min(30_000, d.pollMs * 2 ** failures) : d.pollMs);
  };
  port.on('message', (m: { t: 'stop' }) => {
    if (m.t !== 'stop') return;
    stopping = true;
    if (timer !== undefined) clearTimeout(timer);
    db.close();
    port.close();
  });
  loop();
}

/** A running indexing thread. */
export interface Indexer {
  /** Stops it after the chunk in hand; resolves when the thread is gone. */
  stop(): Promise<void>;
}

/** Starts the indexing thread over `data`; `onMessage` hears its progress and errors. */
export function startIndexer(data: IndexerData, onMessage: (m: IndexerMessage) => void): Indexer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const w = new Worker(`(${indexerThread.toString()})(require(${JSON.stringify(driver)}), require('node:worker_threads'))`, { eval: true, workerData: data });
  w.on('message', onMessage);
  w.on('error', (err) => onMessage({ t: 'error', message: `the indexing thread stopped: ${err.message}` }));
  // It must not keep a process alive that is otherwise done.
  w.unref();
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  return {
    async stop() {
      // Held while it stops: a process waiting only on this would otherwise end before it has.
      w.ref();
      w.postMessage({ t: 'stop' });
      await exited;
    },
  };
}
