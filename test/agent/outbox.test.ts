import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/agent/outbox.js';
import type { CompleteItem } from '../../src/core/reports.js';
import { tempDir } from '../support/tmp.js';

const item = (id: string): CompleteItem => ({ id, token: `tok-${id}`, outcome: 'succeeded' });

describe('the outbox of outcomes not yet delivered', () => {
  it('keeps what was put and not removed across a restart, in one 0600 log', () => {
    const dir = path.join(tempDir(), 'outbox', 'w1');
    const box = new Outbox(dir);
    expect(box.put(item('a'))).toBeNull();
    box.put(item('b'));
    box.put(item('c'));
    box.remove('b');
    expect(new Outbox(dir).pending().map((i) => i.id)).toEqual(['a', 'c']);
    expect(Outbox.pendingIn(dir)).toEqual([item('a'), item('c')]);
    expect(fs.readdirSync(dir)).toEqual(['outbox.jsonl']);
    expect(fs.statSync(path.join(dir, 'outbox.jsonl')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('skips a last line cut short by a crash, and reads the outcomes of the one-file-per-job layout', () => {
    const dir = path.join(tempDir(), 'outbox', 'w1');
    new Outbox(dir).put(item('a'));
    fs.appendFileSync(path.join(dir, 'outbox.jsonl'), '{"put":{"id":"torn","tok');
    fs.writeFileSync(path.join(dir, 'old1.json'), JSON.stringify(item('old1')));
    const box = new Outbox(dir);
    expect(box.pending().map((i) => i.id).sort()).toEqual(['a', 'old1']);
    box.remove('old1');
    expect(fs.existsSync(path.join(dir, 'old1.json'))).toBe(false);
    expect(Outbox.pendingIn(dir).map((i) => i.id)).toEqual(['a']);
  });

  it('rewrites its log with only the pending outcomes as it grows', () => {
    const dir = path.join(tempDir(), 'outbox', 'w1');
    const box = new Outbox(dir);
    box.put(item('kept'));
    for (let i = 0; i < 5_000; i++) {
      box.put(item(`j${i}`));
      box.remove(`j${i}`);
    }
    const lines = fs.readFileSync(path.join(dir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    expect(lines).toBeLessThan(5_000);
    expect(new Outbox(dir).pending().map((i) => i.id)).toEqual(['kept']);
  });
});
