import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RotatingLog } from '../../src/supervise/rotating-log.js';
import { tempDir } from '../support/tmp.js';

const read = (f: string) => fs.readFileSync(f, 'utf8');

describe('rotating log files', () => {
  it('rotates by size before a line would pass the limit, keeping only the newest backups', () => {
    const file = path.join(tempDir(), 'logs', 'ffmpeg.log');
    const log = new RotatingLog({ file, mode: 'size', maxBytes: 20, backups: 2 });
    for (let i = 0; i < 10; i++) log.line(`line ${i} ....`); // 12 bytes each: one per file
    log.close();
    expect(read(file)).toBe('line 9 ....\n');
    expect(read(`${file}.1`)).toBe('line 8 ....\n');
    expect(read(`${file}.2`)).toBe('line 7 ....\n');
    expect(fs.existsSync(`${file}.3`)).toBe(false);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['ffmpeg.log', 'ffmpeg.log.1', 'ffmpeg.log.2']);
  });

  it('rotates by days on the clock, counts a file that was already there, and rotates when told (SIGHUP)', () => {
    const file = path.join(tempDir(), 'run.log');
    fs.writeFileSync(file, 'from before\n');
    let now = 0;
    const log = new RotatingLog({ file, mode: 'days', days: 2, backups: 3, clock: () => now });
    log.line('day 0');
    now = 2 * 86_400_000 - 1;
    log.line('almost day 2');
    now += 1;
    log.line('day 2');
    expect(read(`${file}.1`)).toBe('from before\nday 0\nalmost day 2\n');
    log.rotate();
    log.line('after HUP');
    log.close();
    expect(read(file)).toBe('after HUP\n');
    expect(read(`${file}.1`)).toBe('day 2\n');
    expect(read(`${file}.2`)).toBe('from before\nday 0\nalmost day 2\n');
  });

  it('keeps no backup when told 0, and refuses settings that make no sense', () => {
    const file = path.join(tempDir(), 'x.log');
    const log = new RotatingLog({ file, mode: 'size', maxBytes: 5, backups: 0 });
    log.line('abcdef');
    log.line('ghijkl');
    log.close();
    expect(fs.readdirSync(path.dirname(file))).toEqual(['x.log']);
    expect(read(file)).toBe('ghijkl\n');
    expect(() => new RotatingLog({ file, mode: 'days', days: 0 })).toThrow(/days must be more than 0, got 0/);
    expect(() => new RotatingLog({ file, mode: 'size', backups: -1 })).toThrow(/backups must be a whole number of 0 or more, got -1/);
  });
});
