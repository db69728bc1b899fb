import type { KindModule } from '../kind.js';
import { downloadSettings } from './config.js';
import { DOWNLOAD_PARAMS, downloadSecretsOf, parseDownloadParams } from './params.js';
import { DOWNLOAD_DEFAULTS, type DownloadSettings } from './settings.js';

/** `download`: resumable, segmented HTTP(S) downloads into a worker's destination (Seafile's offline download). */
export const downloadKind: KindModule<DownloadSettings, unknown> = {
  name: 'download',
  needsTemplate: false,
  check: (params, field) => void parseDownloadParams(params, field),
  secretsOf: downloadSecretsOf,
  params: DOWNLOAD_PARAMS,
  timeLimit: { defaultMs: DOWNLOAD_DEFAULTS.timeLimitMs, serverKey: 'download_time_limit' },
  settings: downloadSettings as KindModule<DownloadSettings, unknown>['settings'],
  createRunner: async (settings) => new (await import('./download-runner.js')).DownloadRunner(settings),
};
