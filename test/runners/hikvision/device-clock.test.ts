import { describe, expect, it } from 'vitest';
import { deviceLocal, deviceOffsetMinutes, deviceZone, searchTime, summerZone } from '../../../src/runners/hikvision/device-clock.js';
import { searchSpan } from '../../../src/runners/hikvision/plan.js';

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

  it('follows summer time by the zone string, Hikvision\'s and POSIX\'s, in both hemispheres', () => {
    const berlin = summerZone('CET-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00');
    expect(berlin).not.toBeNull();
    const z = berlin!;
    expect(z(Date.parse('2021-01-15T12:00:00Z'))).toBe(60);
    expect(z(Date.parse('2021-08-18T12:00:00Z'))).toBe(120);
    // 2021-03-28 01:00Z (02:00 local) and 2021-10-31 01:00Z (03:00 summer time).
    expect(z(Date.parse('2021-03-28T00:59:59Z'))).toBe(60);
    expect(z(Date.parse('2021-03-28T01:00:00Z'))).toBe(120);
    expect(z(Date.parse('2021-10-31T00:59:59Z'))).toBe(120);
    expect(z(Date.parse('2021-10-31T01:00:00Z'))).toBe(60);
    const ny = summerZone('EST5EDT4,M3.2.0,M11.1.0')!;
    expect([ny(Date.parse('2021-01-15T12:00:00Z')), ny(Date.parse('2021-08-18T12:00:00Z'))]).toEqual([-300, -240]);
    const sydney = summerZone('AEST-10AEDT,M10.1.0,M4.1.0/3')!;
    expect([sydney(Date.parse('2021-01-15T12:00:00Z')), sydney(Date.parse('2021-07-15T12:00:00Z'))]).toEqual([660, 600]);
    expect(summerZone('CST-8:00:00')).toBeNull();
  });

  it("searches a winter day from summer on the winter day's own offset, and names its clips so", () => {
    // A device in Berlin, asked in August (its clock says +02:00) for 2021-01-15.
    const { zone } = deviceZone({ localTime: '2021-08-18T14:18:15+02:00', timeZone: 'CET-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00' }, NOW);
    expect(searchSpan({ kind: 'between', start: '2021-01-15T00:00:00', end: '2021-01-15' }, NOW, zone)).toEqual({ start: '2021-01-14T23:00:00Z', end: '2021-01-15T22:59:59Z' });
    expect(deviceLocal(Date.parse('2021-01-15T07:00:00Z'), zone)).toBe('2021-01-15T08:00:00');
    expect(deviceLocal(Date.parse('2021-08-15T07:00:00Z'), zone)).toBe('2021-08-15T09:00:00');
    // A zone string whose rule disagrees with the clock's own offset: the clock wins, the rule gives the shift.
    const off = deviceZone({ localTime: '2021-08-18T15:18:15+03:00', timeZone: 'CET-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00' }, NOW).zone;
    expect([off(NOW), off(Date.parse('2021-01-15T12:00:00Z'))]).toEqual([180, 120]);
  });
});
