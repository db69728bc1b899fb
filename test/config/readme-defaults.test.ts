import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseConfig, serverSettingsOf, workerSettingsOf } from '../../src/config/config.js';
import { SERVER_DEFAULTS } from '../../src/coordinator/defaults.js';
import { parseDuration } from '../../src/core/duration.js';
import { kindModule } from '../../src/runners/registry.js';
import { readWrapperSettings } from '../../src/wrapper/env-settings.js';

/**
 * The README's configuration reference and `drover run` table state every default: they must be
 * the ones the code has (each lives once, in a `*_DEFAULTS` object).
 */
const README = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

/** The drover.yaml block of the configuration reference, its example-only entries left out. */
function referenceConfig(): { server: Record<string, unknown>; worker: Record<string, unknown> } {
  const section = README.slice(README.indexOf('## Configuration reference'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const doc = YAML.parse(yaml) as { server: Record<string, unknown>; worker: Record<string, unknown> };
  const dropNulls = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null).map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? dropNulls(v as Record<string, unknown>) : v]));
  const worker = dropNulls(doc.worker);
  delete worker.destinations; // an example, not a default
  return { server: dropNulls(doc.server), worker };
}

describe("the README's defaults", () => {
  it('server: every value in the reference is the coordinator\'s default', () => {
    const { config } = parseConfig(YAML.stringify({ server: referenceConfig().server }));
    const s = serverSettingsOf(config.server);
    expect({ host: s.host, port: s.port, dataDir: s.dataDir, leaseTtlMs: s.leaseTtlMs, heartbeatIntervalMs: s.heartbeatIntervalMs, maxBodyBytes: s.maxBodyBytes, maxLongPollMs: s.maxLongPollMs, maxConnections: s.maxConnections, maxLongPolls: s.maxLongPolls, maxLongPollsPerWorker: s.maxLongPollsPerWorker, pollMs: s.pollMs, pg: s.pg }).toEqual({
      host: SERVER_DEFAULTS.host,
      port: SERVER_DEFAULTS.port,
      dataDir: SERVER_DEFAULTS.dataDir,
      leaseTtlMs: SERVER_DEFAULTS.leaseTtlMs,
      heartbeatIntervalMs: SERVER_DEFAULTS.heartbeatIntervalMs,
      maxBodyBytes: SERVER_DEFAULTS.maxBodyBytes,
      maxLongPollMs: SERVER_DEFAULTS.maxLongPollMs,
      maxConnections: SERVER_DEFAULTS.maxConnections,
      maxLongPolls: SERVER_DEFAULTS.maxLongPolls,
      maxLongPollsPerWorker: SERVER_DEFAULTS.maxLongPollsPerWorker,
      pollMs: SERVER_DEFAULTS.pollMs,
      pg: { poolSize: SERVER_DEFAULTS.pgPoolSize, listen: SERVER_DEFAULTS.pgListen },
    });
    expect(s.kindTimeLimitsMs).toEqual({ download: kindModule('download')!.timeLimit!.defaultMs });
    expect(s.retentionMs).toBeNull();
  });

  it('worker: the reference resolves exactly as no config at all', () => {
    const { config } = parseConfig(YAML.stringify({ worker: referenceConfig().worker }));
    expect(workerSettingsOf(config.worker)).toEqual(workerSettingsOf(parseConfig('').config.worker));
  });

  it('drover run: the settings table gives what an empty environment gives', () => {
    const section = README.slice(README.indexOf('## ffmpeg under supervision'), README.indexOf('## ffmpeg jobs'));
    const env: Record<string, string> = {};
    for (const m of section.matchAll(/^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)? \| ([^|]+) \|/gm)) {
      const values = (m[3] as string).trim().replace(/`/g, '').split(', ');
      [m[1], m[2]].forEach((name, i) => {
        const v = values[i] ?? values[0];
        // Flags and the unset ones (off, none, "= stuck time") have no value to give.
        if (name && v && !['off', 'none'].includes(v) && !v.startsWith('=')) env[name] = v;
      });
    }
    expect(Object.keys(env).length).toBeGreaterThan(15);
    expect(env.ENCODING_FAIL_WHEN).toBe('all');
    expect(readWrapperSettings(env)).toEqual(readWrapperSettings({}));
  });

  it('a duration the reference writes reads as the default (30s lease, 10s heartbeat)', () => {
    expect(parseDuration(String(referenceConfig().server.lease_ttl))).toBe(SERVER_DEFAULTS.leaseTtlMs);
    expect(parseDuration(String(referenceConfig().server.heartbeat_interval))).toBe(SERVER_DEFAULTS.heartbeatIntervalMs);
  });
});

describe("the README's schedules example", () => {
  it('is a drover.yaml the coordinator takes', () => {
    const yaml = /```yaml\n(schedules:[\s\S]*?)```/.exec(README)?.[1];
    expect(yaml).toBeDefined();
    const { config } = parseConfig(yaml as string);
    expect(Object.keys(config.schedules)).toEqual(['node1-quick', 'node1-full']);
    expect(config.schedules['node1-quick']).toMatchObject({ every: '5m', job: { kind: 'mirror', node: 'node1', params: { hours: '3' } } });
  });
});
