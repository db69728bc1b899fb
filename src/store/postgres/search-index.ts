import type pg from 'pg';
import { ConfigError, errorMessage } from '../../core/errors.js';
import type { SearchIndexChange } from '../store.js';

/**
 * The optional text search index of the PostgreSQL store (`server.search_index`): a pg_trgm GIN
 * index on each job's id, error and non-secret param values (`drover_search_text`). Not a
 * numbered migration: turning it on builds it (CONCURRENTLY: enqueues go on meanwhile), turning
 * it off drops it, because it costs space and time on every enqueue. The function stays when the
 * index goes, so another coordinator still searching through it keeps working.
 */
const INDEX = 'jobs_text';

/** The expression the index is on; a query uses the index only when it says the same. */
export const SEARCH_TEXT = 'drover_search_key(id, error, params, secrets)';

/**
 * ASCII's punctuation and space, each written as `q` in what the index holds (and in what it
 * is asked). pg_trgm makes trigrams of words only: `clip=0` would be looked up as `clip`, in
 * every job, and rechecked job by job (15 s at 1M). Written as letters they are part of the
 * trigrams; a text holds the query's text only if its key holds the query's key, so the index
 * still finds a superset, and the exact match decides.
 */
const PUNCTUATION = ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** How much of each end of a long text the index is asked for, in characters. */
const ENDS = 12;

/**
 * The ILIKE pattern the index is asked for `q`: `q` as the index holds it, with no wildcard
 * left in it; of a long text only its two ends (`%head%tail%`, which every text holding `q`
 * matches). The index reads a list of jobs per trigram, and most trigrams of a long text are
 * in most jobs (a URL's scheme and host): the whole url of one job in 1M took 76-112 ms, its
 * ends 21 ms.
 */
export function searchPatternOf(q: string): string {
  const key = [...q].map((c) => (PUNCTUATION.includes(c) ? 'q' : c));
  // Only an ASCII text is cut: a collation may fold a letter by what follows it (ICU's final
  // sigma), and a cut end is followed by `%` where the job's text goes on.
  if (key.length <= 2 * ENDS || /[^\x00-\x7f]/.test(q)) return `%${key.join('')}%`;
  return `%${key.slice(0, ENDS).join('')}%${key.slice(-ENDS).join('')}%`;
}

/** The statistics target of the indexed expression (PostgreSQL's default is 100). */
const STATISTICS = 1000;

/** Whether the index exists, is valid and is this version's, in the schema the pool works in. */
export async function pgSearchIndexOn(pool: pg.Pool): Promise<boolean> {
  const r = await pool.query(
    `SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = $1 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
    [INDEX],
  );
  return r.rows[0]?.valid === true && String(r.rows[0]?.def).includes('drover_search_key(');
}

/** Builds (`on`) or drops the index; nothing when it already is as asked. */
export async function setPgSearchIndex(pool: pg.Pool, on: boolean): Promise<SearchIndexChange> {
  const valid = await pgSearchIndexOn(pool);
  if (!on) {
    // Any index of that name: one of an earlier version (not `valid`) costs the enqueues as much.
    const r = await pool.query("SELECT 1 FROM pg_class WHERE relname = $1 AND relkind = 'i' AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())", [INDEX]);
    if (r.rowCount === 0) return { change: null, jobs: 0 };
    await pool.query(`DROP INDEX CONCURRENTLY IF EXISTS ${INDEX}`);
    return { change: 'dropped', jobs: 0 };
  }
  if (valid) return { change: null, jobs: 0 };
  const ops = await trigramOps(pool);
  // What the index is on. Immutable: it reads only its arguments; secret params' values never go in.
  await pool.query(`CREATE OR REPLACE FUNCTION drover_search_text(id text, error text, params text, secrets text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT id || ' ' || COALESCE(error, '') || ' ' || COALESCE((SELECT string_agg(p.value, ' ') FROM jsonb_each_text(params::jsonb) p WHERE NOT (secrets::jsonb ? p.key)), '') $$`);
  // replace() by replace(): translate() took 10 µs a job (it walks its list for every
  // character), 33 replace() calls 1.7 µs. chr(): no quoting of the characters to get wrong.
  let key = 'drover_search_text(id, error, params, secrets)';
  for (const c of PUNCTUATION) key = `replace(${key}, chr(${c.codePointAt(0)}), 'q')`;
  await pool.query(`CREATE OR REPLACE FUNCTION drover_search_key(id text, error text, params text, secrets text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ${key} $$`);
  // A build that was interrupted leaves an invalid index behind, which IF NOT EXISTS would keep;
  // an index of an earlier version is on another expression.
  await pool.query(`DROP INDEX CONCURRENTLY IF EXISTS ${INDEX}`);
  await pool.query(`CREATE INDEX CONCURRENTLY ${INDEX} ON jobs USING gin (${SEARCH_TEXT} ${ops})`);
  // The expression's statistics: without them the planner takes the index for a text in a
  // quarter of the jobs too, and sorts them all (0.9 s at 100,000 jobs) instead of reading in
  // order. A larger sample tells a text in 1 % of the jobs from a rare one.
  await pool.query(`ALTER INDEX ${INDEX} ALTER COLUMN 1 SET STATISTICS ${STATISTICS}`);
  await pool.query('ANALYZE jobs');
  const n = await pool.query('SELECT COUNT(*)::bigint AS n FROM jobs');
  return { change: 'built', jobs: Number(n.rows[0]?.n ?? 0) };
}

/** pg_trgm's operator class, qualified by the schema the extension is in (created here when missing). */
async function trigramOps(pool: pg.Pool): Promise<string> {
  const schemaOf = async () => (await pool.query("SELECT n.nspname AS s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'")).rows[0]?.s as string | undefined;
  let schema = await schemaOf();
  if (schema === undefined) {
    try {
      await pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    } catch (err) {
      throw new ConfigError(`server.search_index needs PostgreSQL's pg_trgm extension, which this role cannot create (${errorMessage(err)}): have the database's owner run CREATE EXTENSION pg_trgm, or set server.search_index: false`);
    }
    schema = await schemaOf();
  }
  return `"${(schema ?? 'public').replace(/"/g, '""')}".gin_trgm_ops`;
}
