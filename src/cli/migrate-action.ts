import { ValidationError } from '../core/errors.js';
import type { Job } from '../core/job.js';
import fs from 'node:fs';
import path from 'node:path';
import { openStore, sqliteLockFile, sqlitePathOf } from '../store/open-store.js';
import { lockHolder } from '../supervise/lock-file.js';
import { redactUrl } from '../store/postgres/pg-client.js';
import type { JobStore } from '../store/store.js';

/** Jobs copied per transaction. */
const PAGE = 500;

export async function migrateAction(f: { from: string; to: string }): Promise<void> {
  if (f.from === f.to) throw new ValidationError('--from and --to name the same store');
  const source = sqlitePathOf(f.from);
  // A missing source is a mistake, not an empty store: opening it would create the file.
  if (source !== null && !fs.existsSync(source)) throw new ValidationError(`--from ${f.from}: there is no SQLite database at ${path.resolve(source)}`);
  for (const [flag, db] of [['--from', f.from], ['--to', f.to]] as const) {
    const file = sqlitePathOf(db);
    const holder = file === null ? null : lockHolder(sqliteLockFile(path.resolve(file)));
    if (holder) throw new ValidationError(`${flag} ${db}: a running drover coordinator uses it (pid ${holder.pid}); stop it first, jobs would change under the copy`);
  }
  const from = await openStore(f.from, { listen: false });
  let to: JobStore | null = null;
  try {
    to = await openStore(f.to, { listen: false });
    const { jobs, added, schedules, tokens } = await copyStore(from, to);
    const extra = [schedules > 0 ? `${schedules} schedule${schedules === 1 ? '' : 's'}` : '', tokens > 0 ? `${tokens} token${tokens === 1 ? '' : 's'}` : ''].filter(Boolean);
    process.stdout.write(`copied ${added} of ${jobs} jobs${extra.length > 0 ? ` and ${extra.join(' and ')}` : ''} from ${describeDb(f.from)} to ${describeDb(f.to)}${added < jobs ? ` (${jobs - added} were already there)` : ''}\n`);
  } finally {
    await from.close();
    await to?.close();
  }
}

/** Copies jobs (with attempts and logs), schedules and access tokens the target lacks; what it already has stays. */
export async function copyStore(from: JobStore, to: JobStore): Promise<{ jobs: number; added: number; schedules: number; tokens: number }> {
  let cursor: string | undefined;
  let jobs = 0;
  let added = 0;
  let schedules = 0;
  let tokens = 0;
  // As stored (hashes): the tokens in use go on working against the new store.
  const haveTokens = new Set((await to.listTokens()).map((t) => t.name));
  for (const t of await from.listTokens()) {
    if (haveTokens.has(t.name)) continue;
    await to.addToken(t);
    tokens++;
  }
  for (const s of await from.listSchedules()) {
    if ((await to.getSchedule(s.name)) !== null) continue;
    await to.putSchedule(s);
    schedules++;
  }
  for (;;) {
    const page = await from.list({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    const fresh: Job[] = [];
    for (const j of page.jobs) if ((await to.get(j.id)) === null) fresh.push(j);
    // Every ended attempt; a running one is rebuilt from the job's lease by the target.
    const attempts = (await Promise.all(fresh.map((j) => from.attempts({ jobId: j.id })))).flat().filter((a) => a.outcome !== null);
    added += await to.importJobs({ jobs: fresh, attempts });
    for (const j of fresh) {
      for (let after = 0; ; ) {
        const chunks = await from.readLog({ jobId: j.id, after, limit: 1000 });
        if (chunks.length === 0) break;
        await to.appendLog({ jobId: j.id, chunks, now: Date.now() });
        after = chunks[chunks.length - 1]!.seq;
      }
    }
    jobs += page.jobs.length;
    if (!page.nextCursor) return { jobs, added, schedules, tokens };
    cursor = page.nextCursor;
  }
}

/** A database as shown to people: a PostgreSQL URL without its password. */
export function describeDb(db: string): string {
  return /^postgres(ql)?:\/\//.test(db) ? redactUrl(db) : db;
}
