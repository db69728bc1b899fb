import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HashPool } from '../../src/runners/download/hash-pool.js';
import { tempDir } from '../support/tmp.js';

describe('the hashing threads', () => {
  it('hash a file in order as it grows, start over on reset, and several files at once', async () => {
    const dir = tempDir();
    const pool = new HashPool(2);
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const bytes = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 7) & 255));
    fs.writeFileSync(a, bytes.subarray(0, 1_000_000));
    fs.writeFileSync(b, 'hello');
    const sa = pool.open(a, 'sha256');
    const sb = pool.open(b, 'md5');
    sa.to(1_000_000);
    fs.appendFileSync(a, bytes.subarray(1_000_000));
    sa.to(3_000_000);
    expect(await sa.digest(3_000_000)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await sb.digest(5)).toBe(createHash('md5').update('hello').digest('hex'));
    // The file starts over with other bytes.
    fs.writeFileSync(b, 'world!');
    sb.reset();
    expect(await sb.digest(6)).toBe(createHash('md5').update('world!').digest('hex'));
    sa.close();
    sb.close();
  });

  it('answers with an error, never hangs, for bytes not in the file, a missing file or an unknown algorithm', async () => {
    const dir = tempDir();
    const pool = new HashPool(1);
    fs.writeFileSync(path.join(dir, 'f'), 'abc');
    const short = pool.open(path.join(dir, 'f'), 'sha256');
    await expect(short.digest(10)).rejects.toThrow(/the partial file ends at 3, before 10/);
    await expect(pool.open(path.join(dir, 'missing'), 'sha256').digest(1)).rejects.toThrow(/ENOENT/);
    await expect(pool.open(path.join(dir, 'f'), 'nope512').digest(3)).rejects.toThrow(/checksum: .*nope512|Invalid digest|not supported/i);
    short.close();
  });
});
