import { describe, expect, it } from 'vitest';
import { redactText, secretValuesOf } from '../../src/core/job.js';

describe('redacting secret values', () => {
  it('hides a value of 4 characters or more wherever it occurs', () => {
    expect(redactText('login with hunter2ok and hunter2', ['hunter2'])).toBe('login with ***ok and ***');
  });

  it('hides 1-, 2- and 3-character secrets only where they stand as a token, so other words stay intact', () => {
    for (const pw of ['x', 'ab', 'p4s']) {
      const line = `$ hikload --server=10.0.0.11 --password=${pw} --downloads /srv/exports/${pw}x/exabpost`;
      const out = redactText(line, [pw]);
      expect(out).toContain('--password=***');
      expect(out).toContain('/srv/exports/');
      expect(out).toContain(`${pw}x/exabpost`);
      expect(out).not.toMatch(new RegExp(`=${pw}( |$)`));
      expect(redactText(`rtsp://admin:${pw}@cam/1`, [pw])).toBe('rtsp://admin:***@cam/1');
      expect(redactText(pw, [pw])).toBe('***');
    }
    // The README's own example: password=x must not turn /srv/exports into /srv/e***ports.
    expect(redactText('writing /srv/exports/cam1.mp4 with x', ['x'])).toBe('writing /srv/exports/cam1.mp4 with ***');
  });

  it('takes short values with regex characters literally, and longer overlapping values first', () => {
    expect(redactText('token=a.b and aXb', ['a.b'])).toBe('token=*** and aXb');
    expect(redactText('pw: secret-long, secret', secretValuesOf({ a: 'secret', b: 'secret-long' }, ['a', 'b']))).toBe('pw: ***, ***');
  });
});
