import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineSplitter, MAX_LINE } from '../../src/supervise/line-splitter.js';
import { RingBuffer } from '../../src/supervise/ring-buffer.js';
import { throttleLatest } from '../../src/supervise/throttle.js';

function split(chunks: string[], maxLine?: number): string[] {
  const lines: string[] = [];
  const sp = new LineSplitter((l) => lines.push(l), maxLine);
  for (const c of chunks) sp.push(c);
  sp.end();
  return lines;
}

describe('LineSplitter', () => {
  it('splits on \\n, \\r\\n and \\r, across chunk boundaries, and flushes a partial last line', () => {
    expect(split(['a\nb', '\r\nc\r', '\nd\rframe=1\rframe=2', '\npart'])).toEqual(['a', 'b', 'c', 'd', 'frame=1', 'frame=2', 'part']);
  });

  it('keeps empty lines, but a \\r\\n cut between chunks is one ending', () => {
    expect(split(['\n\nx\r', '\n', '\r\r\n', 'y\n'])).toEqual(['', '', 'x', '', '', 'y']);
    expect(split(['a\r', '', '\nb'])).toEqual(['a', 'b']);
  });

  it('passes nothing for no output and no empty line for output ending in a newline', () => {
    expect(split([])).toEqual([]);
    expect(split(['done\n'])).toEqual(['done']);
  });

  it('cuts a line without a newline into pieces of at most 64 KiB', () => {
    expect(split(['x'.repeat(MAX_LINE * 2 + 10)]).map((l) => l.length)).toEqual([65536, 65536, 10]);
  });

  it('cuts a long line that does end in a newline, and one built from many small chunks', () => {
    expect(split(['y'.repeat(25) + '\nz'], 10).map((l) => l.length)).toEqual([10, 10, 5, 1]);
    expect(split([...'abcdefghijklmnopqrstuvw'], 10)).toEqual(['abcdefghij', 'klmnopqrst', 'uvw']);
    // Exactly a multiple of the limit: no empty piece after it.
    expect(split(['0123456789\n'], 10)).toEqual(['0123456789']);
  });
});

describe('RingBuffer', () => {
  it('keeps only the last N items, oldest first', () => {
    const r = new RingBuffer<number>(3);
    expect(r.last()).toEqual([]);
    for (let i = 1; i <= 7; i++) r.push(i);
    expect(r.last()).toEqual([5, 6, 7]);
    expect(r.last(2)).toEqual([6, 7]);
    expect(r.length).toBe(3);
  });

  it('stays bounded whatever is pushed', () => {
    const r = new RingBuffer<string>(50);
    for (let i = 0; i < 100_000; i++) r.push(`line ${i}`);
    expect(r.length).toBe(50);
    expect(r.last()[0]).toBe('line 99950');
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});

describe('throttleLatest', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes on at most one value per period, and the latest one at its end', () => {
    vi.useFakeTimers();
    const got: number[] = [];
    const t = throttleLatest((v: number) => got.push(v), 500);
    t.push(1);
    expect(got).toEqual([1]);
    for (let i = 2; i <= 100; i++) t.push(i);
    expect(got).toEqual([1]);
    vi.advanceTimersByTime(499);
    expect(got).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(got).toEqual([1, 100]);
    t.push(101);
    vi.advanceTimersByTime(10_000);
    expect(got).toEqual([1, 100, 101]);
    t.push(102); // a period has passed: at once
    t.push(103); // waits...
    t.cancel(); // ...and is dropped
    vi.advanceTimersByTime(10_000);
    expect(got).toEqual([1, 100, 101, 102]);
  });
});
