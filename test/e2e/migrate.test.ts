import path from 'node:path';
import { scheduleFixture } from '../store/contract/schedules.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-store.js';
import { PostgresJobStore } from '../../src/store/postgres/postgres-store.js';
import { runDrover } from '../support/drover.js';
import { freshDatabase } from '../support/pg.js';
import { tempDir } from '../support/tmp.js';
import { jobFixture, T0 } from '../store/contract/index.js';

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await freshDatabase('drover_migrate');
});
afterAll(async () => {
  await db.drop();
});

describe('drover migrate-store', () => {
  it('copies jobs in every state with their attempts and logs from SQLite to PostgreSQL, and can run again', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'drover.db');
    const src = SqliteJobStore.open({ path: file });
    const jobs = await src.enqueue({ jobs: Array.from({ length: 1200 }, (_, i) => jobFixture(`m${String(i).padStart(5, '0')}`, { params: { i }, priority: i === 0 ? 1 : 0 })), now: T0 });
    // One job with a history: failed once, then succeeded; one running; one canceled; logs.
    const [a, b, c] = jobs;
    let [held] = await src.claim({ worker: 'w1', kinds: ['noop'], templates: [], queues: [], limit: 1, leaseMs: 30_000, now: T0 });
    await src.appendLog({ jobId: held!.id, chunks: [{ stream: 'stdout', text: 'first try\n' }], now: T0 });
    await src.complete({ items: [{ id: held!.id, token: held!.lease!.token, outcome: 'failed', error: 'boom' }], now: T0 + 1, random: () => 0 });
    await src.promoteDue({ now: T0 + 60_000 });
    [held] = await src.claim({ worker: 'w2', kinds: ['noop'], templates: [], queues: [], limit: 1, leaseMs: 30_000, now: T0 + 60_000 });
    expect(held!.id).toBe(a!.id);
    await src.complete({ items: [{ id: a!.id, token: held!.lease!.token, outcome: 'succeeded', result: { ok: 1 } }], now: T0 + 60_001 });
    const [running] = await src.claim({ worker: 'w3', kinds: ['noop'], templates: [], queues: [], limit: 1, leaseMs: 30_000, now: T0 + 60_002 });
    expect(running!.id).toBe(b!.id);
    await src.cancel({ id: c!.id, now: T0 + 60_003 });
    const before = await Promise.all([a, b, c].map(async (j) => ({ job: await src.get(j!.id), attempts: await src.attempts({ jobId: j!.id }), logs: await src.readLog({ jobId: j!.id, after: 0, limit: 100 }) })));
    const schedule = scheduleFixture('nightly', { cron: '0 3 * * *', everyMs: null, timezone: 'Europe/Berlin', lastJobId: a!.id, lastRunAt: T0 });
    await src.putSchedule(schedule);
    await src.close();

    const r = await runDrover(['migrate-store', '--from', `sqlite:${file}`, '--to', db.url], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^copied 1200 of 1200 jobs and 1 schedule from sqlite:.* to postgres:\/\/postgres@127\.0\.0\.1:5432\/drover_migrate_/);
    const again = await runDrover(['migrate-store', '--from', `sqlite:${file}`, '--to', db.url], { cwd: dir });
    expect(again.stdout).toMatch(/copied 0 of 1200 jobs .*\(1200 were already there\)/);

    const dst = await PostgresJobStore.open({ url: db.url, listen: false });
    const after = await Promise.all([a, b, c].map(async (j) => ({ job: await dst.get(j!.id), attempts: await dst.attempts({ jobId: j!.id }), logs: await dst.readLog({ jobId: j!.id, after: 0, limit: 100 }) })));
    expect(after).toEqual(before);
    expect((await dst.counts({})).queued).toBe(1197);
    expect(await dst.listSchedules()).toEqual([schedule]);
    await dst.close();
  });
});
