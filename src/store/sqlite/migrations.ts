import type Database from 'better-sqlite3';

/**
 * Versioned migrations of the SQLite store. Numbered like the PostgreSQL store's: migration N
 * brings both backends to the same schema version. Never edit an applied migration; add one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE jobs (
  id                TEXT PRIMARY KEY,
  queue             TEXT NOT NULL,
  kind              TEXT NOT NULL,
  template          TEXT,
  params            TEXT NOT NULL,
  secrets           TEXT NOT NULL,
  owner             TEXT,
  tags              TEXT NOT NULL,
  priority          INTEGER NOT NULL,
  state             TEXT NOT NULL,
  run_at            INTEGER NOT NULL,
  attempt           INTEGER NOT NULL DEFAULT 0,
  max_attempts      INTEGER NOT NULL,
  backoff_ms        INTEGER NOT NULL,
  backoff_max_ms    INTEGER NOT NULL,
  time_limit_ms     INTEGER,
  concurrency_key   TEXT,
  concurrency_limit INTEGER,
  lease_worker      TEXT,
  lease_token       TEXT,
  lease_expires_at  INTEGER,
  deadline_at       INTEGER,
  stop_reason       TEXT,
  progress          TEXT,
  result            TEXT,
  error             TEXT,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  started_at        INTEGER,
  finished_at       INTEGER
);
CREATE INDEX jobs_queued ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_waiting ON jobs (run_at) WHERE state = 'waiting';
-- Expired leases are found through jobs_state (the running jobs, a few thousand at most): an
-- index of its own would be rewritten by every claim, heartbeat and outcome.
CREATE INDEX jobs_deadline ON jobs (deadline_at) WHERE state = 'running' AND deadline_at IS NOT NULL;
CREATE INDEX jobs_key_running ON jobs (concurrency_key) WHERE state = 'running' AND concurrency_key IS NOT NULL;
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_owner ON jobs (owner, id) WHERE owner IS NOT NULL;

-- Past attempts. The latest attempt of a job is read from its row; an attempt is copied here
-- only when another one may follow (failed with a retry, lease lost), so a job that succeeds
-- at once costs no write here.
CREATE TABLE job_attempts (
  job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt    INTEGER NOT NULL,
  worker     TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER,
  outcome    TEXT,
  error      TEXT,
  PRIMARY KEY (job_id, attempt)
);

CREATE TABLE job_logs (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  ts     INTEGER NOT NULL,
  stream TEXT NOT NULL,
  text   TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);

CREATE TABLE workers (
  name       TEXT PRIMARY KEY,
  info       TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'by-state index without successes',
    // The PostgreSQL store's migration 2 narrows its by-state index. SQLite keeps the full one:
    // its planner uses a partial index only when the query repeats the index's own condition,
    // so listing failed jobs would lose its index. Numbered here to keep the two schema
    // versions in step.
    sql: '',
  },
  {
    version: 3,
    name: 'jobs for one node',
    sql: 'ALTER TABLE jobs ADD COLUMN node TEXT;',
  },
  {
    version: 4,
    name: 'schedules',
    sql: `
CREATE TABLE schedules (
  name        TEXT PRIMARY KEY,
  every_ms    INTEGER,
  cron        TEXT,
  timezone    TEXT,
  job         TEXT NOT NULL,
  paused      INTEGER NOT NULL DEFAULT 0,
  source      TEXT NOT NULL,
  next_run_at INTEGER NOT NULL,
  last_run_at INTEGER,
  last_job_id TEXT,
  last_skip   TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'parents and children',
    sql: `
ALTER TABLE jobs ADD COLUMN parent_id TEXT;
CREATE INDEX jobs_parent ON jobs (parent_id, id) WHERE parent_id IS NOT NULL;
`,
  },
  {
    version: 6,
    name: 'access tokens',
    // The token itself is never stored: its SHA-256, and its first characters as the id to find it by.
    sql: `
CREATE TABLE tokens (
  name         TEXT PRIMARY KEY,
  id           TEXT NOT NULL UNIQUE,
  hash         TEXT NOT NULL,
  role         TEXT NOT NULL,
  queues       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER
);
`,
  },
  {
    version: 7,
    name: 'paused queues',
    sql: `
CREATE TABLE paused_queues (
  queue     TEXT PRIMARY KEY,
  paused_at INTEGER NOT NULL
);
`,
  },
  {
    version: 8,
    name: 'finished jobs by time',
    sql: `
-- The dashboard's finished-per-minute chart and retention read finished jobs by time; with
-- the state, the chart is read from the index alone.
CREATE INDEX jobs_finished ON jobs (finished_at, state) WHERE finished_at IS NOT NULL;
`,
  },
  {
    version: 9,
    name: 'the token of an expired lease',
    sql: `
-- A report that comes after its lease expired still counts while no worker has leased the job
-- again (transitions.ts settleLateReport): the expired lease's token is kept until then.
ALTER TABLE jobs ADD COLUMN lost_token TEXT;
`,
  },
  {
    version: 10,
    name: 'idempotency keys of enqueues',
    sql: `
-- An enqueue's Idempotency-Key ('request:KEY', with a fingerprint of the body) and a job's own
-- key ('job:KEY'), each with the ids it made; kept 24 h (store/enqueue-keys.ts).
CREATE TABLE enqueue_keys (
  key         TEXT PRIMARY KEY,
  fingerprint TEXT,
  job_ids     TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX enqueue_keys_created ON enqueue_keys (created_at);
`,
  },
  {
    version: 11,
    name: 'counts of jobs per queue, owner and state',
    sql: `
-- Counts read from here, not by a COUNT(*) of every job (store/counters.ts). One coordinator
-- writes a SQLite file, so a counter row is never contended.
CREATE TABLE job_counts (
  queue TEXT NOT NULL,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  n     INTEGER NOT NULL,
  PRIMARY KEY (queue, owner, state)
) WITHOUT ROWID;
INSERT INTO job_counts SELECT queue, COALESCE(owner, ''), state, COUNT(*) FROM jobs GROUP BY 1, 2, 3;
CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO job_counts VALUES (NEW.queue, COALESCE(NEW.owner, ''), NEW.state, 1) ON CONFLICT (queue, owner, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
  UPDATE job_counts SET n = n - 1 WHERE queue = OLD.queue AND owner = COALESCE(OLD.owner, '') AND state = OLD.state;
END;
CREATE TRIGGER jobs_count_update AFTER UPDATE OF state, queue, owner ON jobs
  WHEN OLD.state IS NOT NEW.state OR OLD.queue IS NOT NEW.queue OR OLD.owner IS NOT NEW.owner BEGIN
  UPDATE job_counts SET n = n - 1 WHERE queue = OLD.queue AND owner = COALESCE(OLD.owner, '') AND state = OLD.state;
  INSERT INTO job_counts VALUES (NEW.queue, COALESCE(NEW.owner, ''), NEW.state, 1) ON CONFLICT (queue, owner, state) DO UPDATE SET n = n + 1;
END;
`,
  },
];

/** Applies the migrations the database lacks, each in its own transaction. */
export function migrate(db: Database.Database, migrations: Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
  const newest = Math.max(0, ...applied);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) throw new Error(`the database is at schema version ${newest}, newer than this Drover knows (${known}); upgrade Drover`);
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
  }
}
