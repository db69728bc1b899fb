import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../src/client/api-client.js';
import { migrateAction } from '../../src/cli/migrate-action.js';
import { buildProgram } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/config.js';
import { openJob } from '../../src/coordinator/secret-params.js';
import { rotateSecrets } from '../../src/coordinator/secret-rotation.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Job, LeasedJob } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import { readSecretKeyFile, sealedKeyId, SecretBox } from '../../src/core/secret-box.js';
import type { JobStore } from '../../src/store/store.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-store.js';
import { processStartTime } from '../../src/supervise/pid-file.js';
import { freshDatabase, pgDump } from '../support/pg.js';
import { tempDir, waitFor } from '../support/tmp.js';

/** `drover secrets rotate` and `drover migrate-store` with sealed params, on real SQLite files and PostgreSQL. */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const config = parseConfig(`
templates:
  hikload:
    argv: [hikload, "--server={server}", "--password={password}", "--cameras={cameras}"]
    secrets: [password]
`);
const worker = { name: 'w', kinds: ['exec', 'hikvision'], templates: [{ name: 'hikload', kind: 'exec', required: ['server', 'password', 'cameras'], secrets: ['password'] }] };
const T = Date.UTC(2026, 0, 1);
const passwordOf = (i: number) => `Rot-Pa55-${i}-x`;

async function serve(where: { dataDir: string; db?: string; secretKeyFile?: string }, clock = new ManualClock(T)): Promise<{ srv: RunningServer; api: ApiClient }> {
  const srv = await startServer({ port: 0, ...where, tokens: { admin: null, worker: null }, templates: config.templates.values(), logger: silentLogger(), clock, tickMs: 3_600_000 });
  const api = new ApiClient({ servers: srv.url });
  cleanups.push(async () => {
    await api.close();
    await srv.close();
  });
  return { srv, api };
}

/** Jobs with secrets by every path, a legacy plaintext job and schedule beside them; the coordinator stopped after. */
async function fill(where: { dataDir: string; db?: string }, n: number): Promise<void> {
  const { srv, api } = await serve(where);
  await api.post('/api/v1/jobs', { jobs: Array.from({ length: n }, (_, i) => ({ template: 'hikload', params: { server: `nvr${i}`, password: passwordOf(i), cameras: '1' } })) });
  await api.post('/api/v1/jobs', { kind: 'hikvision', params: { server: '10.0.0.9', user: 'u', password: 'Rot-Nvr-Pa55', cameras: '1' } });
  await api.post('/api/v1/schedules', { name: 'hourly', every: '1h', job: { template: 'hikload', params: { server: 'sched', password: 'Rot-Sched-Pa55', cameras: '1' } } });
  // As a Drover from before encryption at rest stored them.
  await srv.store.enqueue({ jobs: [{ id: 'zlegacy0001', queue: 'default', kind: 'exec', template: 'hikload', params: { server: 'old', password: 'Rot-Legacy-Pa55', cameras: '1' }, secrets: ['password'], owner: null, tags: [], priority: 0, runAt: T, maxAttempts: 3, backoffMs: 5000, backoffMaxMs: 600000, timeLimitMs: null, concurrencyKey: null, concurrencyLimit: null, node: null, parentId: null }], now: T });
  await srv.store.putSchedule({ name: 'legacy', everyMs: 3_600_000, cron: null, timezone: null, job: { template: 'hikload', params: { server: 'old-sched', password: 'Rot-Legacy-Sched-Pa55', cameras: '1' } }, paused: false, source: 'api', nextRunAt: T + 3_600_000, lastRunAt: null, lastJobId: null, lastSkip: null, createdAt: T, updatedAt: T });
  await srv.close();
}

/** Every leased job's password, and what the schedules enqueue when they fire. */
async function passwordsServed(where: { dataDir: string; db?: string; secretKeyFile?: string }): Promise<string[]> {
  const clock = new ManualClock(T);
  const { srv, api } = await serve(where, clock);
  const views = JSON.stringify(await api.get('/api/v1/schedules'));
  expect(views).not.toMatch(/Rot-/);
  clock.advance(3_600_000);
  await srv.scheduler.tick();
  const leased = (await api.post<{ jobs: LeasedJob[] }>('/api/v1/lease', { worker, limit: 100 })).jobs;
  await srv.close();
  return leased.map((j) => String(j.params.password)).sort();
}

const allPasswords = (n: number) => [...Array.from({ length: n }, (_, i) => passwordOf(i)), 'Rot-Nvr-Pa55', 'Rot-Sched-Pa55', 'Rot-Legacy-Pa55', 'Rot-Legacy-Sched-Pa55'].sort();

/** Runs `drover secrets rotate` in this process, through the command's definition; its output. */
async function rotate(f: { newKeyFile: string; keyFile?: string[]; data?: string; db?: string }): Promise<string> {
  const emptyConfig = path.join(tempDir(), 'drover.yaml');
  fs.writeFileSync(emptyConfig, '');
  const argv = ['secrets', 'rotate', '--new-key-file', f.newKeyFile, '--config', emptyConfig, ...(f.keyFile ?? []).flatMap((k) => ['--key-file', k]), ...(f.data ? ['--data', f.data] : []), ...(f.db ? ['--db', f.db] : [])];
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await (await buildProgram()).parseAsync(argv, { from: 'user' });
  } catch (err) {
    (err as Error).message = `${(err as Error).message}\n[output]\n${out}`;
    throw err;
  } finally {
    spy.mockRestore();
  }
  return out;
}

/** The key ids the store's values are sealed under (null: plaintext), per value. */
async function keyIds(store: JobStore): Promise<Array<string | null>> {
  const ids: Array<string | null> = [];
  for (let after: string | null = null; ; ) {
    const page = await store.jobsWithSecrets({ after, limit: 100 });
    if (page.length === 0) break;
    for (const j of page) for (const n of j.secrets) ids.push(sealedKeyId(j.params[n]));
    after = page[page.length - 1]!.id;
  }
  for (const s of await store.listSchedules()) for (const v of Object.values(s.job.params as object)) ids.push(sealedKeyId(v));
  return ids;
}

const sqliteBytes = (dataDir: string) => Buffer.concat(['drover.db', 'drover.db-wal'].map((f) => path.join(dataDir, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f))).toString('latin1');

describe('drover secrets rotate', () => {
  it('SQLite: re-encrypts every job and schedule (plaintext ones too) under the new key; with the old key gone, jobs lease with their plaintext', async () => {
    const dataDir = path.join(tempDir(), 'data');
    await fill({ dataDir }, 7);
    const oldKey = readSecretKeyFile(path.join(dataDir, 'secret.key'));
    const newFile = path.join(tempDir(), 'keys', 'new.key');
    const out = await rotate({ newKeyFile: newFile, data: dataDir });
    const newKey = readSecretKeyFile(newFile);
    expect(fs.statSync(newFile).mode & 0o777).toBe(0o600);
    expect(out).toBe(
      `created ${newFile} (key ${newKey.id})\n` +
        `encrypted 15 secret values (4 of them plaintext) in 9 jobs and 2 schedules under key ${newKey.id} (${newFile}); 0 already were\n` +
        `now point server.secret_key_file at ${newFile} (every coordinator of this store) and start the coordinators; keep ${path.join(dataDir, 'secret.key')} (key ${oldKey.id}) until then, and as long as you keep database backups made before now\n`,
    );
    expect(sqliteBytes(dataDir)).not.toMatch(/Rot-/);
    fs.rmSync(path.join(dataDir, 'secret.key'));
    expect(await passwordsServed({ dataDir, secretKeyFile: newFile })).toEqual(allPasswords(7));
  });

  it('resumes an interrupted rotation: the mix reads with both keys, a second run finishes it, a third finds nothing to do', async () => {
    const dataDir = path.join(tempDir(), 'data');
    await fill({ dataDir }, 5);
    const oldKey = readSecretKeyFile(path.join(dataDir, 'secret.key'));
    const newFile = path.join(tempDir(), 'new.key');
    fs.writeFileSync(newFile, execFileSync('openssl', ['rand', '-base64', '32']), { mode: 0o600 });
    const newKey = readSecretKeyFile(newFile);
    const store = SqliteJobStore.open({ path: path.join(dataDir, 'drover.db') });
    try {
      // Killed after its first batch of two jobs.
      await expect(rotateSecrets(store, new SecretBox(newKey, [oldKey]), { batch: 2, afterBatch: () => { throw new Error('killed'); } })).rejects.toThrow('killed');
      const ids = await keyIds(store);
      expect(ids.filter((id) => id === newKey.id)).toHaveLength(2);
      expect(ids.filter((id) => id === oldKey.id)).toHaveLength(7);
      expect(ids.filter((id) => id === null)).toHaveLength(4);
      // Both keys read the mix.
      const both = new SecretBox(newKey, [oldKey]);
      for (let after: string | null = null; ; ) {
        const page = await store.jobsWithSecrets({ after, limit: 100 });
        if (page.length === 0) break;
        for (const j of page) expect(String(openJob(both, { ...(j as Job) }).params.password)).toMatch(/^Rot-/);
        after = page[page.length - 1]!.id;
      }
    } finally {
      await store.close();
    }
    const second = await rotate({ newKeyFile: newFile, data: dataDir });
    expect(second.split('\n')[0]).toBe(`encrypted 11 secret values (4 of them plaintext) in 5 jobs and 2 schedules under key ${newKey.id} (${newFile}); 2 already were`);
    const third = await rotate({ newKeyFile: newFile, data: dataDir });
    expect(third.split('\n')[0]).toBe(`encrypted 0 secret values under key ${newKey.id} (${newFile}); 13 already were`);
    fs.rmSync(path.join(dataDir, 'secret.key'));
    expect(await passwordsServed({ dataDir, secretKeyFile: newFile })).toEqual(allPasswords(5));
  });

  it('encrypts plaintext in place when the new key is the current one', async () => {
    const dataDir = path.join(tempDir(), 'data');
    await fill({ dataDir }, 1);
    const file = path.join(dataDir, 'secret.key');
    const out = await rotate({ newKeyFile: file, data: dataDir });
    expect(out).toMatch(/^encrypted 4 secret values \(4 of them plaintext\) in 1 job and 1 schedule under key [0-9a-f]{8} .*; 5 already were\nthe coordinators' key is unchanged/);
    expect(sqliteBytes(dataDir)).not.toMatch(/Rot-/);
  });

  it('leaves values under a key it is not given, says which, and exits non-zero having done the rest', async () => {
    const dataDir = path.join(tempDir(), 'data');
    await fill({ dataDir }, 2);
    const oldKey = readSecretKeyFile(path.join(dataDir, 'secret.key'));
    const elsewhere = path.join(tempDir(), 'unrelated.key');
    fs.writeFileSync(elsewhere, execFileSync('openssl', ['rand', '-base64', '32']), { mode: 0o600 });
    const newFile = path.join(tempDir(), 'new.key');
    await expect(rotate({ newKeyFile: newFile, data: dataDir, keyFile: [elsewhere] })).rejects.toThrow(`6 encrypted with key ${oldKey.id}, which no --key-file holds: those values are left as they are. Give each missing key with --key-file (repeatable) and run again; the rest is done`);
    // With the right key it finishes.
    const out = await rotate({ newKeyFile: newFile, data: dataDir, keyFile: [path.join(dataDir, 'secret.key'), elsewhere] });
    expect(out.split('\n')[0]).toMatch(/^encrypted 6 secret values in 3 jobs and 1 schedule .*; 4 already were$/);
  });

  it('refuses a SQLite store a running coordinator holds, saying to stop it', async () => {
    const dataDir = path.join(tempDir(), 'data');
    await fill({ dataDir }, 1);
    // Another process holds the lock, as a running coordinator does.
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanups.push(() => void holder.kill('SIGKILL'));
    await waitFor(() => processStartTime(holder.pid!) !== null, 5_000, 'the holder to run');
    const db = path.join(dataDir, 'drover.db');
    fs.writeFileSync(`${db}.lock`, `${holder.pid}\n${processStartTime(holder.pid!)}\n`);
    await expect(rotate({ newKeyFile: path.join(tempDir(), 'new.key'), data: dataDir })).rejects.toThrow(`${db} is in use by a running drover coordinator (pid ${holder.pid}): stop it first; secrets rotate rewrites its jobs' params`);
    expect(fs.readFileSync(`${db}.lock`, 'utf8').startsWith(`${holder.pid}\n`)).toBe(true);
  });

  it('PostgreSQL: refuses while a coordinator runs on the database; rotates once they are stopped; the dump holds no secret', async () => {
    const db = await freshDatabase('drover_rotate');
    cleanups.push(() => db.drop());
    const dataDir = path.join(tempDir(), 'data');
    await fill({ dataDir, db: db.url }, 3);
    const { srv } = await serve({ dataDir, db: db.url });
    // Its maintenance takes the lead at its first tick.
    await srv.scheduler.tick();
    const newFile = path.join(tempDir(), 'new.key');
    await expect(rotate({ newKeyFile: newFile, db: db.url, data: dataDir })).rejects.toThrow(/a drover coordinator is running on this database \(it holds the maintenance lock\): stop every coordinator first, then rotate/);
    await srv.close();
    const out = await rotate({ newKeyFile: newFile, db: db.url, data: dataDir });
    expect(out).toMatch(/encrypted 11 secret values \(4 of them plaintext\) in 5 jobs and 2 schedules/);
    fs.rmSync(path.join(dataDir, 'secret.key'));
    const dump = pgDump(db.url);
    expect(dump).toContain('nvr0');
    expect(dump).not.toMatch(/Rot-/);
    expect(await passwordsServed({ dataDir, db: db.url, secretKeyFile: newFile })).toEqual(allPasswords(3));
  });
});

describe('drover migrate-store with sealed params', () => {
  it('copies them as they are: the copy in PostgreSQL holds no secret, and opens with the same key', async () => {
    const dataDir = path.join(tempDir(), 'data');
    await fill({ dataDir }, 2);
    // The legacy plaintext ones are sealed first, so that every value is.
    await rotate({ newKeyFile: path.join(dataDir, 'secret.key'), data: dataDir });
    const db = await freshDatabase('drover_migrate_sealed');
    cleanups.push(() => db.drop());
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await migrateAction({ from: `sqlite:${path.join(dataDir, 'drover.db')}`, to: db.url });
    } finally {
      spy.mockRestore();
    }
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const stored = (await c.query<{ params: string }>(`SELECT params FROM jobs WHERE id <> 'zlegacy0001' ORDER BY id LIMIT 1`)).rows[0]!.params;
    await c.end();
    const sqlite = SqliteJobStore.open({ path: path.join(dataDir, 'drover.db') });
    const [first] = await sqlite.jobsWithSecrets({ after: null, limit: 1 });
    await sqlite.close();
    expect(JSON.parse(stored)).toEqual(first!.params);
    expect(pgDump(db.url)).not.toMatch(/Rot-/);
    // A coordinator on the copy, with the same key file, hands out the plaintext.
    expect(await passwordsServed({ dataDir: path.join(tempDir(), 'elsewhere'), db: db.url, secretKeyFile: path.join(dataDir, 'secret.key') })).toEqual(allPasswords(2));
  });
});
