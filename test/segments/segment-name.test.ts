import { describe, expect, it } from 'vitest';
import { contentHash, hourOf, hourStart, parseSegmentName, segmentOfTombstone, tombstoneOf } from '../../src/segments/segment-name.js';

const HASH = contentHash(Buffer.from('x'));

describe("wubloader's segment names", () => {
  it('parses time, duration, type and hash; a temp segment has no hash', () => {
    expect(parseSegmentName(`45:51.608000-2.0-full-${HASH}.ts`)).toEqual({ name: `45:51.608000-2.0-full-${HASH}.ts`, offsetMs: 45 * 60_000 + 51_608, duration: 2, type: 'full', hash: HASH });
    expect(parseSegmentName(`00:00.5-1.25-partial-${HASH}.ts`)?.offsetMs).toBe(500);
    expect(parseSegmentName('00:01.000000-2.0-temp-0f0f0f0f-aaaa-bbbb-cccc-dddddddddddd.ts')).toMatchObject({ type: 'temp', hash: null });
    expect(HASH).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses what is not one, including anything that could leave its directory', () => {
    for (const n of [
      `45:51.608000-2.0-full-${HASH}.mp4`,
      `45:51.608000-2.0-bogus-${HASH}.ts`,
      `45:51-2.0-full-${HASH}.ts`,
      `61:00.000000-2.0-full-${HASH}.ts`,
      `00:00.000000-2.0-full-${HASH.slice(1)}.ts`,
      `00:00.000000-2.0-full-../${HASH.slice(3)}.ts`,
      `00:00.000000-2.0-temp-../../x.ts`,
      `00:00.000000-x-full-${HASH}.ts`,
      '../x.ts',
      '',
    ]) expect(parseSegmentName(n), n).toBeNull();
  });

  it('maps tombstones to segments and hours to times', () => {
    const seg = `45:51.608000-2.0-full-${HASH}.ts`;
    expect(tombstoneOf(seg)).toBe(`45:51.608000-2.0-full-${HASH}.tombstone`);
    expect(segmentOfTombstone(tombstoneOf(seg))).toBe(seg);
    expect(segmentOfTombstone('../x.tombstone')).toBeNull();
    expect(hourStart('2019-11-13T02')).toBe(Date.UTC(2019, 10, 13, 2));
    expect(hourOf(Date.UTC(2019, 10, 13, 2, 59, 59))).toBe('2019-11-13T02');
    for (const h of ['2019-13-01T00', '2019-02-30T00', '2019-11-13T24', '2019-11-13', '../x']) expect(hourStart(h), h).toBeNull();
  });
});
