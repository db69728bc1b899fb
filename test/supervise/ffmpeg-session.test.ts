import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';
import { MANAGER_DEFAULTS } from '../../src/supervise/encoding-manager.js';
import { startFfmpegSession } from '../../src/supervise/ffmpeg-session.js';

/**
 * A command that reports like ffmpeg on fd 3: moving blocks every 100 ms for 0.5 s, then two that
 * do not move, then no block at all while it keeps printing on stderr, for 10 s.
 */
const STALLS_QUIETLY = `const fs = require('fs'); let n = 0;
const block = (f) => fs.writeSync(3, 'frame=' + f + '\\nout_time_us=' + f * 40000 + '\\ntotal_size=' + f * 100 + '\\nprogress=continue\\n');
const t = setInterval(() => { n++; if (n <= 5) block(n); else if (n <= 7) block(5); console.error('retrying input ' + n); }, 100);
setTimeout(() => { clearInterval(t); process.exit(0); }, 10000);`;

describe("the ffmpeg session's manager, without a ticking timer", () => {
  it('fails a stall at its own deadline when blocks stop but other output goes on (not at the hung deadline)', async () => {
    // An executable of its own: the session puts -progress pipe:3 right after the program's name.
    const fake = path.join(tempDir(), 'fake-ffmpeg');
    fs.writeFileSync(fake, `#!${process.execPath}\n${STALLS_QUIETLY}\n`, { mode: 0o755 });
    const s = await startFfmpegSession({
      argv: [fake],
      isFfmpeg: true,
      manager: { ...MANAGER_DEFAULTS, startDelayMs: 0, checkEnabled: false, maxStuckMs: 60_000, stallMs: 1_000 },
      killGraceMs: 1_000,
    });
    const exit = await s.done;
    expect(exit.verdict?.reason).toBe('stalled');
    // Stopped by the verdict, long before the command would have ended by itself.
    expect(exit.stoppedBy).toMatch(/^stalled: /);
    expect(s.output.last(0).length).toBeLessThan(90);
  });
});
