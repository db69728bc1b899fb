import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-store.js';
import { RotatingLog } from '../../src/supervise/rotating-log.js';
import { tempDir } from '../support/tmp.js';

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

describe('files that hold params and output are their owner\'s only', () => {
  it('creates the SQLite store 0600 in a 0700 directory (its WAL too), and tightens one made 0644 before', async () => {
    const dir = path.join(tempDir(), 'data');
    const store = SqliteJobStore.open({ path: path.join(dir, 'drover.db') });
    await store.enqueue({ jobs: [], now: 0 }).catch(() => undefined);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(dir, 'drover.db'))).toBe(0o600);
    expect(modeOf(path.join(dir, 'drover.db-wal'))).toBe(0o600);
    await store.close();
    fs.chmodSync(path.join(dir, 'drover.db'), 0o644);
    await SqliteJobStore.open({ path: path.join(dir, 'drover.db') }).close();
    expect(modeOf(path.join(dir, 'drover.db'))).toBe(0o600);
  });

  it('creates rotating logs 0600, and their rotations too', () => {
    const file = path.join(tempDir(), 'logs', 'job.log');
    const log = new RotatingLog({ file, mode: 'size', maxBytes: 10, backups: 2 });
    log.line('first line, long enough to rotate');
    log.line('second');
    log.close();
    expect(modeOf(path.dirname(file))).toBe(0o700);
    expect([modeOf(file), modeOf(`${file}.1`)]).toEqual([0o600, 0o600]);
  });
});
