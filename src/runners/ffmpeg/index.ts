import type { KindModule } from '../kind.js';
import { ffmpegSettings } from './config.js';
import { FFMPEG_PARAMS, FFMPEG_TEMPLATE_PARAMS, ffmpegSecretsOf, parseFfmpegParams } from './ffmpeg-params.js';
import type { FfmpegSettings } from './settings.js';

/** `ffmpeg`: ffmpeg under FF WRAPPER's manager, from the job's params or a template of kind ffmpeg. */
export const ffmpegKind: KindModule<FfmpegSettings, unknown> = {
  name: 'ffmpeg',
  needsTemplate: false,
  check: (params, field) => void parseFfmpegParams(params, field),
  secretsOf: ffmpegSecretsOf,
  params: FFMPEG_PARAMS,
  templateParams: FFMPEG_TEMPLATE_PARAMS,
  settings: ffmpegSettings as KindModule<FfmpegSettings, unknown>['settings'],
  createRunner: async (settings) => new (await import('./ffmpeg-runner.js')).FfmpegRunner(settings),
};
