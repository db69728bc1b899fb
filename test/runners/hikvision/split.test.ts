import { describe, expect, it } from 'vitest';
import type { Params } from '../../../src/core/job.js';
import { splitParts } from '../../../src/runners/hikvision/split.js';
import { at, run } from './harness.js';

const span = { start: '2021-08-17T09:00:00Z', end: '2021-08-19T03:00:00Z' };

describe('a hikvision job split into child jobs', () => {
  it('parts: per camera the whole span; per camera and device day, the days after the first taking only clips that start in them', () => {
    // The device is at UTC+3: its span is 17th 12:00 to 19th 06:00.
    expect(splitParts('camera', ['101', '201'], span, () => 180)).toEqual([
      { track: '101', start: '2021-08-17T12:00:00', end: '2021-08-19T06:00:00', clips: 'overlapping' },
      { track: '201', start: '2021-08-17T12:00:00', end: '2021-08-19T06:00:00', clips: 'overlapping' },
    ]);
    expect(splitParts('camera-day', ['101'], span, () => 180)).toEqual([
      { track: '101', start: '2021-08-17T12:00:00', end: '2021-08-17T23:59:59', clips: 'overlapping' },
      { track: '101', start: '2021-08-18T00:00:00', end: '2021-08-18T23:59:59', clips: 'starting' },
      { track: '101', start: '2021-08-19T00:00:00', end: '2021-08-19T06:00:00', clips: 'starting' },
    ]);
    expect(splitParts('camera-day', ['101'], { start: '2021-08-18T00:00:00Z', end: '2021-08-18T05:00:00Z' }, () => 0)).toHaveLength(1);
  });

  it("plans one child per camera and device day, and the children fetch every clip once, a clip across midnight by the day it starts in", async () => {
    // Device clips, local UTC+3 times in the comments.
    const clips = [
      at('101', '2021-08-17T10:00:00Z'), // 17th 13:00
      at('101', '2021-08-17T20:55:00Z'), // 17th 23:55, across midnight
      at('101', '2021-08-18T09:00:00Z'), // 18th 12:00
      at('101', '2021-08-19T02:00:00Z'), // 19th 05:00
      at('201', '2021-08-17T08:55:00Z'), // 17th 11:55, across the span's start
      at('201', '2021-08-18T20:58:00Z'), // 18th 23:58, across midnight
      at('201', '2021-08-19T04:00:00Z'), // 19th 07:00, after the span
    ];
    const { go, exec, sim, logs, delivered } = await run({ cameras: 'all', split: 'camera-day', start: '2021-08-17T12:00:00', end: '2021-08-19T06:00:00', layout: 'oneperday', skip_existing: false, photos: true }, clips, { offsetMin: 180 });
    const plan = await go();
    expect(plan.outcome, plan.error).toBe('succeeded');
    expect(plan.result).toMatchObject({ split: 'camera-day', jobs: 6 });
    expect(logs.join('')).toMatch(/split into 6 jobs, one per camera and day \(3 days\): 101,201 from 2021-08-17T09:00:00Z to 2021-08-19T03:00:00Z/);
    // It searched and fetched nothing itself.
    expect(sim.requests.filter((r) => r.path.includes('ContentMgmt'))).toEqual([]);
    const kids = plan.children as Array<{ kind: string; params: Params; secrets: string[] }>;
    expect(kids.map((k) => [k.params.cameras, k.params.start, k.params.end, k.params.clips ?? null])).toEqual([
      ['101', '2021-08-17T12:00:00', '2021-08-17T23:59:59', null],
      ['101', '2021-08-18T00:00:00', '2021-08-18T23:59:59', 'starting'],
      ['101', '2021-08-19T00:00:00', '2021-08-19T06:00:00', 'starting'],
      ['201', '2021-08-17T12:00:00', '2021-08-17T23:59:59', null],
      ['201', '2021-08-18T00:00:00', '2021-08-18T23:59:59', 'starting'],
      ['201', '2021-08-19T00:00:00', '2021-08-19T06:00:00', 'starting'],
    ]);
    for (const k of kids) {
      expect(k).toMatchObject({ kind: 'hikvision', secrets: ['password'], params: { server: sim.url, user: 'admin', password: 'secret', layout: 'oneperday', skip_existing: false, photos: true } });
      expect(Object.keys(k.params)).not.toContain('split');
    }

    for (const k of kids) {
      const r = await exec(k.params);
      expect(r.outcome, r.error).toBe('succeeded');
    }
    expect(delivered()).toEqual([
      '101/2021-08-17/20210817130000-101.mp4',
      '101/2021-08-17/20210817235500-101.mp4',
      '101/2021-08-18/20210818120000-101.mp4',
      '101/2021-08-19/20210819050000-101.mp4',
      '201/2021-08-17/20210817115500-201.mp4',
      '201/2021-08-18/20210818235800-201.mp4',
    ]);
    // Each clip fetched once, though two days' searches find the clips across midnight.
    expect(sim.requests.filter((r) => r.path === '/ISAPI/ContentMgmt/download' && r.status === 200)).toHaveLength(6);
  });

  it('refuses a split of more jobs than the coordinator takes, naming how many and what to do', async () => {
    const { go } = await run({ cameras: Array.from({ length: 30 }, (_, i) => String(i + 1)).join(','), split: 'camera-day', days: 400 }, []);
    expect(await go()).toMatchObject({ outcome: 'failed', retryable: false, error: 'split: camera-day makes 12030 jobs (30 cameras × 401 days), at most 10000; split by camera or ask for fewer days' });
  });

  it('refuses an unknown split or clips, naming the ones it takes', async () => {
    const { go } = await run({ cameras: '101', split: 'day' }, []);
    expect(await go()).toMatchObject({ outcome: 'failed', retryable: false, error: 'params.split: "day" is not one of camera, camera-day' });
    expect(await go({ split: 'camera', clips: 'all' })).toMatchObject({ outcome: 'failed', error: 'params.clips: "all" is not one of overlapping, starting' });
  });
});
