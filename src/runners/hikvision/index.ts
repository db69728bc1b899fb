import type { KindModule } from '../kind.js';
import { serverOrigin } from './device-url.js';
import { HIKVISION_PARAMS, hikvisionSecretsOf, parseHikvisionParams } from './params.js';
import { hikvisionSettings, type HikvisionSettings } from './settings.js';

/** `hikvision`: every recording of an NVR's cameras over ISAPI, into a destination (what the task server ran hikload for). */
export const hikvisionKind: KindModule<HikvisionSettings, unknown> = {
  name: 'hikvision',
  needsTemplate: false,
  check: (params, field) => void parseHikvisionParams(params, field),
  secretsOf: hikvisionSecretsOf,
  params: HIKVISION_PARAMS,
  // One NVR is never hit by two jobs at once, however its server is written (10.0.0.5, http://10.0.0.5:80/).
  concurrency: { key: (params) => serverOrigin(String(params.server)).host.toLowerCase(), limit: 1 },
  settings: hikvisionSettings as KindModule<HikvisionSettings, unknown>['settings'],
  createRunner: async (settings) => new (await import('./hikvision-runner.js')).HikvisionRunner(settings),
};
