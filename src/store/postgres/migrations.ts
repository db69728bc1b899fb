import type { PoolClient } from 'pg';

/**
 * Versioned migrations of the PostgreSQL store, numbered like the SQLite store's: migration N
 * brings both backends to the same schema version. Never edit an applied migration; add one.
 * JSON columns are text, as in SQLite, so both stores hand back the same values.
 */
export const POSTGRES_MIGRATIONS = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE jobs (
  id                text PRIMARY KEY,
  queue             text NOT NULL,
  kind              text NOT NULL,
  template          text,
  params            text NOT NULL,
  secrets           text NOT NULL,
  owner             text,
  tags              text NOT NULL,
  priority          integer NOT NULL,
  state             text NOT NULL,
  run_at            bigint NOT NULL,
  attempt           integer NOT NULL DEFAULT 0,
  max_attempts      integer NOT NULL,
  backoff_ms        bigint NOT NULL,
  backoff_max_ms    bigint NOT NULL,
  time_limit_ms     bigint,
  concurrency_key   text,
  concurrency_limit integer,
  lease_worker      text,
  lease_token       text,
  lease_expires_at  bigint,
  deadline_at       bigint,
  stop_reason       text,
  progress          text,
  result            text,
  error             text,
  created_at        bigint NOT NULL,
  updated_at        bigint NOT NULL,
  started_at        bigint,
  finished_at       bigint
);
CREATE INDEX jobs_queued ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_waiting ON jobs (run_at) WHERE state = 'waiting';
CREATE INDEX jobs_deadline ON jobs (deadline_at) WHERE state = 'running' AND deadline_at IS NOT NULL;
CREATE INDEX jobs_key_running ON jobs (concurrency_key) WHERE state = 'running' AND concurrency_key IS NOT NULL;
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_owner ON jobs (owner, id) WHERE owner IS NOT NULL;

CREATE TABLE job_attempts (
  job_id     text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt    integer NOT NULL,
  worker     text NOT NULL,
  started_at bigint NOT NULL,
  ended_at   bigint,
  outcome    text,
  error      text,
  PRIMARY KEY (job_id, attempt)
);

CREATE TABLE job_logs (
  job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq    integer NOT NULL,
  ts     bigint NOT NULL,
  stream text NOT NULL,
  text   text NOT NULL,
  PRIMARY KEY (job_id, seq)
);

CREATE TABLE workers (
  name       text PRIMARY KEY,
  info       text NOT NULL,
  first_seen bigint NOT NULL,
  last_seen  bigint NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'by-state index without successes',
    // Successes are nearly every finished job. Leaving them out of the by-state index spares
    // each successful completion an index entry (PostgreSQL updates every index on a state
    // change); listing succeeded jobs walks the primary key, where they are the majority anyway.
    sql: `
DROP INDEX jobs_state;
CREATE INDEX jobs_state ON jobs (state, id) WHERE state <> 'succeeded';
`,
  },
  {
    version: 3,
    name: 'jobs for one node',
    sql: 'ALTER TABLE jobs ADD COLUMN node text;',
  },
  {
    version: 4,
    name: 'schedules',
    sql: `
CREATE TABLE schedules (
  name        text PRIMARY KEY,
  every_ms    bigint,
  cron        text,
  timezone    text,
  job         text NOT NULL,
  paused      boolean NOT NULL DEFAULT false,
  source      text NOT NULL,
  next_run_at bigint NOT NULL,
  last_run_at bigint,
  last_job_id text,
  last_skip   text,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'parents and children',
    sql: `
ALTER TABLE jobs ADD COLUMN parent_id text;
CREATE INDEX jobs_parent ON jobs (parent_id, id) WHERE parent_id IS NOT NULL;
`,
  },
  {
    version: 6,
    name: 'access tokens',
    // The token itself is never stored: its SHA-256, and its first characters as the id to find it by.
    sql: `
CREATE TABLE tokens (
  name         text PRIMARY KEY,
  id           text NOT NULL UNIQUE,
  hash         text NOT NULL,
  role         text NOT NULL,
  queues       text NOT NULL,
  created_at   bigint NOT NULL,
  expires_at   bigint,
  last_used_at bigint
);
`,
  },
  {
    version: 7,
    name: 'paused queues',
    sql: `
CREATE TABLE paused_queues (
  queue     text PRIMARY KEY,
  paused_at bigint NOT NULL
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
ALTER TABLE jobs ADD COLUMN lost_token text;
`,
  },
  {
    version: 10,
    name: 'idempotency keys of enqueues',
    sql: `
-- An enqueue's Idempotency-Key ('request:KEY', with a fingerprint of the body) and a job's own
-- key ('job:KEY'), each with the ids it made; kept 24 h (store/enqueue-keys.ts).
CREATE TABLE enqueue_keys (
  key         text PRIMARY KEY,
  fingerprint text,
  job_ids     text NOT NULL,
  created_at  bigint NOT NULL
);
CREATE INDEX enqueue_keys_created ON enqueue_keys (created_at);
`,
  },
  {
    version: 11,
    name: 'counts of jobs per queue, owner and state',
    // Counts read from here, not by a count(*) of every job (store/counters.ts). Coordinators
    // share the database: a trigger adding to one counter row would make every claim and outcome
    // wait on that row's lock, so the triggers add rows to job_count_deltas (inserts take no lock
    // another needs) and maintenance folds them into job_counts (counters.ts). A count reads both.
    // Statement triggers: one insert of a few grouped rows per statement, however many jobs it
    // changed; one that changed no state (a heartbeat) inserts nothing.
    sql: `
CREATE TABLE job_counts (
  queue text NOT NULL,
  owner text NOT NULL,
  state text NOT NULL,
  n     bigint NOT NULL,
  PRIMARY KEY (queue, owner, state)
);
CREATE TABLE job_count_deltas (
  queue text NOT NULL,
  owner text NOT NULL,
  state text NOT NULL,
  n     bigint NOT NULL
);
INSERT INTO job_counts SELECT queue, COALESCE(owner, ''), state, count(*) FROM jobs GROUP BY 1, 2, 3;
CREATE FUNCTION drover_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_count_deltas SELECT queue, COALESCE(owner, ''), state, count(*) FROM new_rows GROUP BY 1, 2, 3;
  RETURN NULL;
END $$;
CREATE FUNCTION drover_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_count_deltas SELECT queue, COALESCE(owner, ''), state, -count(*) FROM old_rows GROUP BY 1, 2, 3;
  RETURN NULL;
END $$;
CREATE FUNCTION drover_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_count_deltas
    SELECT queue, owner, state, sum(n) FROM (
      SELECT queue, COALESCE(owner, '') AS owner, state, -1 AS n FROM old_rows
      UNION ALL SELECT queue, COALESCE(owner, ''), state, 1 FROM new_rows) d
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_count_inserted AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION drover_count_inserted();
CREATE TRIGGER jobs_count_deleted AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION drover_count_deleted();
CREATE TRIGGER jobs_count_updated AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION drover_count_updated();
`,
  },
];

/** Arbitrary but fixed: the advisory lock that makes coordinators starting together migrate one at a time. */
const MIGRATION_LOCK = 7_070_001;

/**
 * Creates `schema` if given and applies the migrations the database lacks, under an advisory
 * lock, each in its own transaction.
 */
export async function migratePostgres(c: PoolClient, schema?: string): Promise<void> {
  await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    if (schema) await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
    const applied = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...POSTGRES_MIGRATIONS.map((m) => m.version));
    if (newest > known) throw new Error(`the database is at schema version ${newest}, newer than this Drover knows (${known}); upgrade Drover`);
    for (const m of POSTGRES_MIGRATIONS) {
      if (applied.has(m.version)) continue;
      await c.query('BEGIN');
      try {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
