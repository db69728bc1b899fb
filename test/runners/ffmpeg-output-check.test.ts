import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutputs, shortfallAllowed } from '../../src/runners/ffmpeg/output-check.js';
import { changesLength } from '../../src/runners/ffmpeg/probe.js';
import { tempDir } from '../support/tmp.js';

function clip(file: string, seconds: number): string {
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-t', String(seconds), '-c:v', 'mpeg4', file]);
  return file;
}

describe('the check of an ffmpeg job\'s outputs', () => {
  const signal = new AbortController().signal;

  it('allows 1 s or 5 % less than expected, whichever is more', () => {
    expect(shortfallAllowed(10)).toBe(1);
    expect(shortfallAllowed(600)).toBe(30);
  });

  it('takes segments together, and names a file ffprobe cannot read', async () => {
    const dir = tempDir('drover-outcheck-');
    const files = [clip(path.join(dir, 'a.mp4'), 2), clip(path.join(dir, 'b.mp4'), 2), path.join(dir, 'list.txt')];
    fs.writeFileSync(files[2] as string, 'not media, not looked at');
    expect(await checkOutputs({ ffprobe: 'ffprobe', files, expected: { seconds: 4, from: '-t 4' }, signal })).toBeNull();
    expect(await checkOutputs({ ffprobe: 'ffprobe', files, expected: { seconds: 8, from: '-t 8' }, signal })).toMatch(/^output has 4\.0 s of media where 8\.0 s were expected \(-t 8\)/);
    const junk = path.join(dir, 'c.mkv');
    fs.writeFileSync(junk, 'not a matroska file');
    expect(await checkOutputs({ ffprobe: 'ffprobe', files: [...files, junk], expected: null, signal })).toMatch(/^output c\.mkv is not media ffprobe can read: /);
  });

  it('knows which template options make an output shorter or longer on purpose', () => {
    for (const o of ['-ss', '-sseof', '-to', '-frames:v', '-vframes', '-vf', '-af', '-filter:v', '-filter_complex', '-stream_loop', '-shortest']) expect(changesLength(['ffmpeg', '-i', 'in', o, 'x', 'out.mp4'])).toBe(true);
    expect(changesLength(['ffmpeg', '-i', 'in', '-t', '5', '-c', 'copy', '-f', 'segment', 'out%03d.ts'])).toBe(false);
  });
});
