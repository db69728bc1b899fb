import { describe, expect, it } from 'vitest';
import { parseConfig, serverSettingsOf } from '../../src/config/config.js';
import { ConfigError } from '../../src/core/errors.js';

describe('server settings', () => {
  it('refuses 0 where it cannot work, naming the key', () => {
    for (const key of ['lease_ttl', 'heartbeat_interval', 'poll_interval', 'download_time_limit']) {
      const { config } = parseConfig(`server:\n  ${key}: 0\n`);
      expect(() => serverSettingsOf(config.server)).toThrow(ConfigError);
      expect(() => serverSettingsOf(config.server)).toThrow(`server.${key}: must be more than 0`);
    }
  });

  it('takes a kind\'s time limit from its server key', () => {
    const { config } = parseConfig('server:\n  download_time_limit: 2h\n');
    expect(serverSettingsOf(config.server).kindTimeLimitsMs).toEqual({ download: 7_200_000 });
    expect(() => parseConfig('server:\n  ffmpeg_time_limit: 2h\n')).toThrow(/ffmpeg_time_limit/);
  });
});
