import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProgressReader, ratesBetween, stalledBetween, type ProgressBlock } from '../../src/supervise/ffmpeg-progress.js';
import { LineSplitter } from '../../src/supervise/line-splitter.js';

function read(text: string, times: number[] = []): ProgressBlock[] {
  const blocks: ProgressBlock[] = [];
  let i = 0;
  const reader = new ProgressReader((b) => blocks.push(b), () => times[i++] ?? 0);
  const split = new LineSplitter((l) => reader.line(l));
  split.push(text);
  split.end();
  return blocks;
}

describe('ffmpeg -progress', () => {
  it('reads a real ffmpeg in real time: counters advance, current rates near 25 fps and 1x, the last block says end', async () => {
    const child = spawn('ffmpeg', ['-nostdin', '-nostats', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '3', '-f', 'null', '-', '-progress', 'pipe:3', '-stats_period', '0.25'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const blocks: ProgressBlock[] = [];
    const reader = new ProgressReader((b) => blocks.push(b));
    const split = new LineSplitter((l) => reader.line(l));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => split.push(d.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    split.end();
    expect(code).toBe(0);
    expect(blocks.length).toBeGreaterThan(5);
    const last = blocks[blocks.length - 1] as ProgressBlock;
    expect(last.end).toBe(true);
    expect(blocks.slice(0, -1).every((b) => !b.end)).toBe(true);
    expect(last.frame).toBe(75);
    expect(Math.abs((last.outTimeUs as number) - 3e6)).toBeLessThan(100_000);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]!.frame!).toBeGreaterThanOrEqual(blocks[i - 1]!.frame!);
    // The middle of the run, away from start-up and the final flush.
    const rates = blocks.slice(2, -2).map((b, i) => ratesBetween(blocks[i + 1] as ProgressBlock, b));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    expect(median(rates.map((r) => r.fps as number))).toBeGreaterThan(18);
    expect(median(rates.map((r) => r.fps as number))).toBeLessThan(32);
    expect(median(rates.map((r) => r.speed as number))).toBeGreaterThan(0.7);
    expect(median(rates.map((r) => r.speed as number))).toBeLessThan(1.3);
  });

  it('trims padding, takes N/A and negative times as unknown, and reads out_time_ms as the microseconds it is', () => {
    const [a, b, c] = read(
      [
        'frame=0', 'fps=0.00', 'bitrate=N/A', 'total_size=N/A', 'out_time_us=-9223372036854775807', 'out_time_ms=-9223372036854775807', 'out_time=-2562047:47:16.854775', 'speed=N/A', 'progress=continue',
        'frame=  75', 'fps= 25.0', 'stream_0_0_q=-1.0', 'bitrate= 240.4kbits/s', 'total_size=90727', 'out_time_ms=3018594', 'dup_frames=0', 'drop_frames=1', 'speed=   1x', 'progress=continue',
        'total_size=100000', 'out_time=00:01:02.500000', 'speed=1.01x', 'progress=end',
      ].join('\r\n'),
      [1000, 2000, 3000],
    ) as [ProgressBlock, ProgressBlock, ProgressBlock];
    expect(a).toMatchObject({ frame: 0, fps: 0, bitrateKbps: null, totalSize: null, outTimeUs: null, speed: null, end: false, at: 1000 });
    expect(b).toMatchObject({ frame: 75, fps: 25, bitrateKbps: 240.4, totalSize: 90727, outTimeUs: 3018594, dupFrames: 0, dropFrames: 1, speed: 1, end: false });
    expect(b.raw.stream_0_0_q).toBe('-1.0');
    // With -c copy there may be no frame counts at all.
    expect(c).toMatchObject({ frame: null, totalSize: 100000, outTimeUs: 62_500_000, speed: 1.01, end: true });
    expect(ratesBetween(a, b)).toEqual({ fps: 75, speed: null, bytesPerSec: null });
    expect(ratesBetween(b, c).speed).toBeCloseTo(59.48, 1);
  });

  it('calls counters that stop moving a stall, though blocks keep coming', () => {
    const [a, b, c, d] = read(['frame=10', 'out_time_us=400000', 'total_size=5000', 'progress=continue', 'frame=10', 'out_time_us=400000', 'total_size=5000', 'progress=continue', 'frame=10', 'out_time_us=400000', 'total_size=5100', 'progress=continue', 'progress=continue'].join('\n')) as [ProgressBlock, ProgressBlock, ProgressBlock, ProgressBlock];
    expect(stalledBetween(a, b)).toBe(true);
    expect(stalledBetween(b, c)).toBe(false);
    // A block with no counters at all says nothing either way.
    expect(stalledBetween(c, d)).toBe(false);
  });
});
