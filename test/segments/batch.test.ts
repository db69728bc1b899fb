import { describe, expect, it } from 'vitest';
import { FrameDecoder, frameHeader } from '../../src/segments/batch.js';

/** Decodes `answer` fed in pieces of `step` bytes; what the sink saw, or the error. */
function decode(names: string[], answer: Buffer, step: number, max = 1000): { seen: string[]; error?: string } {
  const seen: string[] = [];
  const d = new FrameDecoder(names, max, {
    segment: (name, data) => seen.push(`${name}=${data.toString()}`),
    absent: (name) => seen.push(`${name} absent`),
  });
  try {
    for (let at = 0; at < answer.length; at += step) d.push(answer.subarray(at, at + step));
    d.end();
    return { seen };
  } catch (err) {
    return { seen, error: (err as Error).message };
  }
}

const answer = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

describe("Drover's batch answers", () => {
  it('splits frames wherever the chunks break, empty and absent ones included', () => {
    const a = answer(frameHeader('a.ts', 5), 'hello', frameHeader('b.ts', null), frameHeader('c.ts', 0), frameHeader('d.ts', 3), 'xyz');
    for (const step of [1, 2, 3, 7, a.length]) expect(decode(['a.ts', 'b.ts', 'c.ts', 'd.ts'], a, step), `step ${step}`).toEqual({ seen: ['a.ts=hello', 'b.ts absent', 'c.ts=', 'd.ts=xyz'] });
  });

  it('refuses what was not asked, out of order, too large, malformed or cut short, keeping what came before', () => {
    const ok = answer(frameHeader('a.ts', 1), 'A');
    expect(decode(['a.ts', 'b.ts'], answer(ok, frameHeader('../x.ts', 1), 'X'), 4)).toEqual({ seen: ['a.ts=A'], error: 'a frame "1 ../x.ts" where b.ts was asked' });
    expect(decode(['a.ts'], answer(ok, frameHeader('a.ts', 1), 'A'), 4).error).toBe('a frame "1 a.ts" where nothing more was asked');
    expect(decode(['a.ts'], answer(frameHeader('a.ts', 5000), 'A'), 64).error).toBe('a.ts: 5000 bytes, more than a segment may have (1000)');
    expect(decode(['a.ts'], answer('1e3 a.ts\n'), 64).error).toBe('a frame of a.ts with size "1e3"');
    expect(decode(['a.ts'], answer('x'.repeat(2000)), 64).error).toBe('a frame header longer than 1024 bytes');
    expect(decode(['a.ts', 'b.ts'], ok, 64)).toEqual({ seen: ['a.ts=A'], error: 'the answer ended after 1 of 2 segments' });
    expect(decode(['a.ts', 'b.ts'], answer(ok, frameHeader('b.ts', 4), 'BB'), 64)).toEqual({ seen: ['a.ts=A'], error: 'the answer ended inside the frame of b.ts' });
  });
});
