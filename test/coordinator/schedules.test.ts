import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/client/api-client.js';
import { DroverClient } from '../../src/client/drover-client.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { startServer, type RunningServer } from '../../src/coordinator/server.js';
import { freshDatabase } from '../support/pg.js';
import { tempDir } from '../support/tmp.js';

const T = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function coordinator(clock: ManualClock, o: { dataDir?: string; db?: string; schedules?: Parameters<typeof startServer>[0]['schedules'] } = {}): Promise<{ srv: RunningServer; api: DroverClient }> {
  // Maintenance runs when the test says (tick), on the test's clock.
  const srv = await startServer({ port: 0, dataDir: o.dataDir ?? path.join(tempDir(), 'data'), ...(o.db ? { db: o.db } : {}), tokens: { admin: null, worker: null }, logger: silentLogger(), clock, tickMs: 3_600_000, ...(o.schedules ? { schedules: o.schedules } : {}) });
  const api = new DroverClient({ server: srv.url });
  cleanups.push(async () => {
    await api.close();
    await srv.close();
  });
  return { srv, api };
}

async function noops(api: DroverClient): Promise<string[]> {
  return (await api.list({ kind: 'noop', limit: 100, order: 'asc' })).jobs.map((j) => j.id);
}

describe('schedules', () => {
  it('fire on time on an injected clock, and never pile up behind a job still queued or running', async () => {
    const clock = new ManualClock(T);
    const { srv, api } = await coordinator(clock);
    const s = await api.putSchedule({ name: 'quick', every: '5m', job: { kind: 'noop', params: { echo: 'x' }, tags: ['backfill'] } });
    expect(s).toMatchObject({ name: 'quick', everyMs: 5 * MIN, nextRunAt: T + 5 * MIN, lastRunAt: null, lastJobId: null, source: 'api' });
    clock.set(T + 5 * MIN - 1);
    await srv.scheduler.tick();
    expect(await noops(api)).toEqual([]);
    clock.set(T + 5 * MIN);
    await srv.scheduler.tick();
    const [first] = await noops(api);
    expect((await api.get(first as string)).job).toMatchObject({ state: 'queued', tags: ['backfill'], params: { echo: 'x' } });
    // Still queued at the next due time: skipped, and it says why.
    clock.set(T + 10 * MIN);
    await srv.scheduler.tick();
    expect(await noops(api)).toEqual([first]);
    const [skipped] = await api.schedules();
    expect(skipped).toMatchObject({ nextRunAt: T + 15 * MIN, lastJobId: first, lastJobState: 'queued', lastSkip: `its last job ${first} is still queued` });
    // Done: the next due time fires again.
    await api.cancel(first as string);
    clock.set(T + 15 * MIN);
    await srv.scheduler.tick();
    expect((await noops(api)).length).toBe(2);
    expect((await api.schedules())[0]).toMatchObject({ lastRunAt: T + 15 * MIN, lastSkip: null, lastJobState: 'queued' });
    // Paused: nothing; resumed: from its next time after now.
    await api.pauseSchedule('quick');
    clock.set(T + 40 * MIN);
    await srv.scheduler.tick();
    expect((await noops(api)).length).toBe(2);
    expect((await api.pauseSchedule('quick', false)).nextRunAt).toBe(T + 45 * MIN);
  });

  it('survive a restart without firing a due time twice, and fire once for the times missed while down', async () => {
    const clock = new ManualClock(T);
    const dataDir = path.join(tempDir(), 'data');
    const one = await coordinator(clock, { dataDir });
    await one.api.putSchedule({ name: 'q', every: '5m', job: { kind: 'noop' } });
    clock.set(T + 5 * MIN);
    await one.srv.scheduler.tick();
    expect((await noops(one.api)).length).toBe(1);
    await one.api.cancel((await noops(one.api))[0] as string);
    await one.api.close();
    await one.srv.close();
    cleanups.splice(0);

    const two = await coordinator(clock, { dataDir });
    await two.srv.scheduler.tick();
    expect((await noops(two.api)).length).toBe(1);
    // Down from 5 to 27 minutes: 10, 15, 20 and 25 were missed; one firing, then the beat goes on.
    clock.set(T + 27 * MIN);
    await two.srv.scheduler.tick();
    await two.srv.scheduler.tick();
    expect((await noops(two.api)).length).toBe(2);
    expect((await two.api.schedules())[0]?.nextRunAt).toBe(T + 30 * MIN);
  });

  it('take cron times in a time zone, and refuse what is wrong, naming it', async () => {
    const clock = new ManualClock(T);
    const { api } = await coordinator(clock);
    // 03:00 in Berlin is 02:00 UTC in January.
    expect((await api.putSchedule({ name: 'night', cron: '0 3 * * *', timezone: 'Europe/Berlin', job: { kind: 'noop' } })).nextRunAt).toBe(T + 2 * 60 * MIN);
    const refused = async (input: unknown) => {
      const err = await api.putSchedule(input as never).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      return (err as ApiError).message;
    };
    expect(await refused({ name: 'x', every: '5m', cron: '* * * * *', job: { kind: 'noop' } })).toBe('every or cron: give one (every: 5m, or cron: "*/5 * * * *")');
    expect(await refused({ name: 'x', cron: '61 * * * *', job: { kind: 'noop' } })).toMatch(/^cron: "61 \* \* \* \*" is not a cron expression/);
    expect(await refused({ name: 'x', cron: '* * * * *', timezone: 'Mars/Olympus', job: { kind: 'noop' } })).toBe('timezone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin)');
    expect(await refused({ name: 'x', every: '100ms', job: { kind: 'noop' } })).toBe('every: at least 1s');
    expect(await refused({ name: 'x', every: '5m', job: { kind: 'nosuch' } })).toMatch(/^job\.kind: unknown kind "nosuch"/);
    expect(await refused({ name: 'x', every: '5m', job: { kind: 'noop', params: { ech: '1' } } })).toMatch(/^job\.params\.ech: unknown param — did you mean "echo"\?/);
    expect(await refused({ name: '../x', every: '5m', job: { kind: 'noop' } })).toMatch(/^name: /);
  });

  it("from drover.yaml: created at start, kept in beat across restarts, removed with the file's entry, not removable by the API", async () => {
    const clock = new ManualClock(T);
    const dataDir = path.join(tempDir(), 'data');
    const first = await coordinator(clock, { dataDir, schedules: [{ name: 'full', every: '3h', job: { kind: 'noop' } }] });
    expect((await first.api.schedules()).map((s) => [s.name, s.source, s.nextRunAt])).toEqual([['full', 'config', T + 180 * MIN]]);
    const err = await first.api.deleteSchedule('full').then(() => null, (e: unknown) => e as ApiError);
    expect(err?.message).toBe('schedule full comes from drover.yaml; remove it there');
    // drover.yaml says what is paused: a pause from the API would not outlive the next reload.
    const pause = await first.api.pauseSchedule('full', true).then(() => null, (e: unknown) => e as ApiError);
    expect(pause?.message).toBe('schedule full comes from drover.yaml; set paused: true there (and reload: SIGHUP)');
    await first.api.close();
    await first.srv.close();
    cleanups.splice(0);
    clock.set(T + 60 * MIN);
    const again = await coordinator(clock, { dataDir, schedules: [{ name: 'full', every: '3h', job: { kind: 'noop' } }] });
    expect((await again.api.schedules())[0]?.nextRunAt).toBe(T + 180 * MIN);
    await again.api.close();
    await again.srv.close();
    cleanups.splice(0);
    const none = await coordinator(clock, { dataDir, schedules: [] });
    expect(await none.api.schedules()).toEqual([]);
    await expect(coordinator(clock, { dataDir: path.join(tempDir(), 'data'), schedules: [{ name: 'bad', every: '0s', job: { kind: 'noop' } }] })).rejects.toThrow('schedules.bad.every: at least 1s');
    // A job that cannot be right refuses the file; one naming a template no one has offered yet is taken.
    await expect(coordinator(clock, { dataDir: path.join(tempDir(), 'data'), schedules: [{ name: 'half', every: '5m', job: { kind: 'mirror', params: { channels: 'desertbus' } } }] })).rejects.toThrow(/^schedules\.half\.job\.params\.qualities: required/);
    const later = await coordinator(clock, { dataDir: path.join(tempDir(), 'data'), schedules: [{ name: 'later', every: '5m', job: { template: 'brought-by-a-worker' } }] });
    expect((await later.api.schedules()).map((s) => s.name)).toEqual(['later']);
  });

  it('fire once with three coordinators on PostgreSQL ticking together', async () => {
    const db = await freshDatabase('drover_sched');
    cleanups.push(db.drop);
    const clock = new ManualClock(T);
    const nodes = [await coordinator(clock, { db: db.url }), await coordinator(clock, { db: db.url }), await coordinator(clock, { db: db.url })];
    await nodes[0]!.api.putSchedule({ name: 'q', every: '5m', job: { kind: 'noop' } });
    for (let round = 1; round <= 3; round++) {
      clock.set(T + round * 5 * MIN);
      await Promise.all(nodes.map((n) => n.srv.scheduler.tick()));
      await Promise.all(nodes.map((n) => n.srv.scheduler.tick()));
      const ids = await noops(nodes[1]!.api);
      expect(ids.length).toBe(round);
      await nodes[2]!.api.cancel(ids.at(-1) as string);
    }
  });
});
