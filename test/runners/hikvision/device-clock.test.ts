import { describe, expect, it } from 'vitest';
import { deviceLocal, deviceOffsetMinutes, searchTime } from '../../../src/runners/hikvision/device-clock.js';

const NOW = Date.parse('2021-08-18T12:18:15Z');

describe("a Hikvision device's clock", () => {
  it('takes the offset its local time carries, else its wall clock against ours, else its POSIX zone', () => {
    expect(deviceOffsetMinutes({ localTime: '2021-08-18T15:18:15+03:00', timeZone: 'CST-8:00:00' }, NOW)).toBe(180);
    expect(deviceOffsetMinutes({ localTime: '2021-08-18T12:18:15Z', timeZone: '' }, NOW)).toBe(0);
    // No offset: 3 h 02 min ahead of true UTC is UTC+3 with a clock 2 minutes fast (a DST zone string would say otherwise).
    expect(deviceOffsetMinutes({ localTime: '2021-08-18T15:20:15', timeZone: 'CET-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00' }, NOW)).toBe(180);
    expect(deviceOffsetMinutes({ localTime: '2021-08-18T17:48:15', timeZone: '' }, NOW)).toBe(330);
    // A clock far off: the zone string decides (POSIX counts west: CST-8 is UTC+8, EST5 is UTC−5).
    expect(deviceOffsetMinutes({ localTime: '2019-01-01T00:07:00', timeZone: 'CST-8:00:00' }, NOW)).toBe(480);
    expect(deviceOffsetMinutes({ localTime: '2019-01-01T00:07:00', timeZone: 'EST5EDT' }, NOW)).toBe(-300);
    expect(deviceOffsetMinutes({ localTime: '2019-01-01T00:07:00', timeZone: '' }, NOW)).toBeNull();
  });

  it('sends local times as UTC with Z (never a local time marked Z), honouring an offset given', () => {
    expect(searchTime('2021-08-18T00:00:00', 180)).toBe('2021-08-17T21:00:00Z');
    expect(searchTime('2021-08-18T23:59:59', -300)).toBe('2021-08-19T04:59:59Z');
    expect(searchTime('2021-08-18T06:00:00Z', 180)).toBe('2021-08-18T06:00:00Z');
    expect(searchTime('2021-08-18T06:00:00+01:00', 180)).toBe('2021-08-18T05:00:00Z');
    expect(() => searchTime('yesterday', 0)).toThrow('"yesterday" is not a time (expected ISO, e.g. 2021-08-18T06:00:00, in the device\'s local time)');
    expect(deviceLocal(Date.parse('2021-08-17T21:00:00Z'), 180)).toBe('2021-08-18T00:00:00');
  });
});
