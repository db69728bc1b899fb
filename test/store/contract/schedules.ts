import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../../src/core/schedule.js';
import { type Harness, T0 } from './harness.js';

export function scheduleFixture(name: string, over: Partial<Schedule> = {}): Schedule {
  return {
    name,
    everyMs: 300_000,
    cron: null,
    timezone: null,
    job: { kind: 'noop', params: { echo: name } },
    paused: false,
    source: 'api',
    nextRunAt: T0 + 300_000,
    lastRunAt: null,
    lastJobId: null,
    lastSkip: null,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

/** The contract, schedules: stored as given, replaced by name, fired once. */
export function schedulesContract(h: Harness): void {
  describe('schedules', () => {
    it('stores, replaces, lists by name and deletes', async () => {
      const a = scheduleFixture('b-quick', { cron: '*/5 * * * *', everyMs: null, timezone: 'Europe/Berlin', job: { template: 'mirror', params: { hours: '3' }, node: 'n1' } });
      await h.store.putSchedule(a);
      await h.store.putSchedule(scheduleFixture('a-full', { paused: true, source: 'config' }));
      expect(await h.store.getSchedule('b-quick')).toEqual(a);
      expect((await h.store.listSchedules()).map((s) => [s.name, s.paused, s.source])).toEqual([['a-full', true, 'config'], ['b-quick', false, 'api']]);
      await h.store.putSchedule({ ...a, everyMs: 60_000, cron: null, updatedAt: T0 + 1 });
      expect(await h.store.getSchedule('b-quick')).toMatchObject({ everyMs: 60_000, cron: null, updatedAt: T0 + 1 });
      expect(await h.store.deleteSchedule('b-quick')).toBe(true);
      expect(await h.store.deleteSchedule('b-quick')).toBe(false);
      expect(await h.store.getSchedule('b-quick')).toBeNull();
    });

    it('advances a due schedule once: the second of two firings of one due time loses', async () => {
      await h.store.putSchedule(scheduleFixture('s'));
      const fire = { name: 's', from: T0 + 300_000, to: T0 + 600_000, firedAt: T0 + 300_010 };
      const [one, two] = await Promise.all([h.store.advanceSchedule({ ...fire, jobId: 'j1', skip: null }), h.store.advanceSchedule({ ...fire, jobId: 'j2', skip: null })]);
      expect([one, two].sort()).toEqual([false, true]);
      const s = await h.store.getSchedule('s');
      expect(s).toMatchObject({ nextRunAt: T0 + 600_000, lastRunAt: T0 + 300_010, lastSkip: null });
      expect(['j1', 'j2']).toContain(s?.lastJobId);
      // A skipped firing keeps the last job and says why.
      expect(await h.store.advanceSchedule({ name: 's', from: T0 + 600_000, to: T0 + 900_000, firedAt: T0 + 600_000, jobId: null, skip: 'the last job is still running' })).toBe(true);
      expect(await h.store.getSchedule('s')).toMatchObject({ lastJobId: s?.lastJobId, lastSkip: 'the last job is still running', nextRunAt: T0 + 900_000 });
    });

    it('keeps a firing when only the definition is written (keepRun), and records a job taken before a pause', async () => {
      await h.store.putSchedule(scheduleFixture('k'));
      expect(await h.store.advanceSchedule({ name: 'k', from: T0 + 300_000, to: T0 + 600_000, firedAt: T0 + 300_000, jobId: 'j1', skip: null })).toBe(true);
      // Another coordinator writes the definition it read before that firing.
      await h.store.putSchedule(scheduleFixture('k', { job: { kind: 'noop', params: { echo: 'new' } }, paused: true, updatedAt: T0 + 1 }), { keepRun: true });
      expect(await h.store.getSchedule('k')).toMatchObject({ nextRunAt: T0 + 600_000, lastJobId: 'j1', lastRunAt: T0 + 300_000, paused: true, job: { params: { echo: 'new' } } });
      expect(await h.store.advanceSchedule({ name: 'k', from: T0 + 600_000, to: T0 + 600_000, firedAt: T0 + 600_000, jobId: 'j2', skip: null })).toBe(false);
      expect(await h.store.advanceSchedule({ name: 'k', from: T0 + 600_000, to: T0 + 600_000, firedAt: T0 + 600_000, jobId: 'j2', skip: null, recordOnly: true })).toBe(true);
      expect((await h.store.getSchedule('k'))?.lastJobId).toBe('j2');
      // keepRun on a new name creates it whole.
      await h.store.putSchedule(scheduleFixture('fresh'), { keepRun: true });
      expect(await h.store.getSchedule('fresh')).toEqual(scheduleFixture('fresh'));
    });

    it('does not fire a paused or missing schedule', async () => {
      await h.store.putSchedule(scheduleFixture('p', { paused: true }));
      expect(await h.store.advanceSchedule({ name: 'p', from: T0 + 300_000, to: T0 + 600_000, firedAt: T0, jobId: 'j', skip: null })).toBe(false);
      expect(await h.store.advanceSchedule({ name: 'nope', from: 0, to: 1, firedAt: T0, jobId: 'j', skip: null })).toBe(false);
    });
  });
}
