import type { KindModule } from '../kind.js';
import { HIKVISION_PARAMS, hikvisionSecretsOf, parseHikvisionParams } from './params.js';
import { hikvisionSettings, type HikvisionSettings } from './settings.js';

/** `hikvision`: every recording of an NVR's cameras over ISAPI, into a destination (what the task server ran hikload for). */
export const hikvisionKind: KindModule<HikvisionSettings, unknown> = {
  name: 'hikvision',
  needsTemplate: false,
  check: (params, field) => void parseHikvisionParams(params, field),
  secretsOf: hikvisionSecretsOf,
  params: HIKVISION_PARAMS,
  // One NVR is never hit by two jobs at once (a hikload template with the same key shares it).
  concurrency: { key: '{server}', limit: 1 },
  settings: hikvisionSettings as KindModule<HikvisionSettings, unknown>['settings'],
  createRunner: async (settings) => new (await import('./hikvision-runner.js')).HikvisionRunner(settings),
};
