import { describe, expect, it } from 'vitest';
import { parseHikvisionParams } from '../../../src/runners/hikvision/params.js';

const base = { server: '10.0.0.5', user: 'admin', password: 'pw' };
const err = (p: Record<string, string | number | boolean>) => {
  try {
    parseHikvisionParams({ ...base, ...p });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

describe("a hikvision job's params", () => {
  it("take the spreadsheet's cells as they come: track ids, channel numbers, numbers, and a span", () => {
    expect(parseHikvisionParams({ ...base, cameras: 101 }).cameras).toEqual(['101']);
    expect(parseHikvisionParams({ ...base, cameras: '1, 2;301' }).cameras).toEqual(['101', '201', '301']);
    expect(parseHikvisionParams(base)).toMatchObject({ cameras: 'all', span: { kind: 'today' }, layout: 'onepercamera', skipExisting: true, photos: false, dest: { name: 'default', subdir: '' } });
    expect(parseHikvisionParams({ ...base, start: '2021-08-18', end: '2021-08-19' }).span).toEqual({ kind: 'between', start: '2021-08-18T00:00:00', end: '2021-08-19' });
    expect(parseHikvisionParams({ ...base, days: '3' }).span).toEqual({ kind: 'days', days: 3 });
    expect(parseHikvisionParams({ ...base, yesterday: 'yes' }).span).toEqual({ kind: 'yesterday' });
  });

  it('name what is wrong', () => {
    expect(err({ server: '' })).toBe('params.server: required: the NVR as host, host:port or http(s)://host:port');
    expect(err({ server: 'http://admin:pw@10.0.0.5' })).toBe('params.server: must not carry a user (give user and password)');
    expect(err({ cameras: 'lobby' })).toBe('params.cameras: "lobby" is not a track id (101) or channel number (1)');
    expect(err({ start: '2021-08-18Z' })).toBe('params.start: "2021-08-18Z" is not a time (expected ISO, e.g. 2021-08-18T06:00:00, in the device\'s local time)');
    expect(err({ start: '2021-08-18T10:00:00', end: '2021-08-18T09:00:00' })).toBe('params.end: "2021-08-18T09:00:00" is not after start "2021-08-18T10:00:00"');
    expect(err({ start: '2021-08-18', days: 2 })).toBe('params.days: give one of start/end, days and yesterday (this job gives start/end and days)');
    expect(err({ layout: 'bycamera' })).toBe('params.layout: "bycamera" is not one of flat, onepercamera, oneperday, onepermonth, oneperyear');
    expect(err({ name: '{start}-{cam}.mp4' })).toBe('params.name: unknown placeholder {cam} (known: {track}, {start}, {end}, {name})');
    expect(err({ name: '../{start}.mp4' })).toBe('params.name: a file name, not a path (the layout makes the folders), got "../{start}.mp4"');
    expect(err({ skip_existing: 'maybe' })).toBe('params.skip_existing: must be true or false, got "maybe"');
  });
});
