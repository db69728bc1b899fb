import { DownloadRunner } from './download/download-runner.js';
import type { DownloadSettings } from './download/settings.js';
import { ExecRunner } from './exec/exec-runner.js';
import { FfmpegRunner } from './ffmpeg/ffmpeg-runner.js';
import { FFMPEG_DEFAULTS, type FfmpegSettings } from './ffmpeg/settings.js';
import type { Rotation } from '../supervise/rotating-log.js';
import { NoopRunner } from './noop/noop-runner.js';
import type { Runner } from './runner.js';

/** The runners every worker has, one per kind; `download` only with download settings. */
export function builtinRunners(download?: DownloadSettings, ffmpeg: FfmpegSettings = FFMPEG_DEFAULTS, rotation?: Rotation): Runner[] {
  return [new NoopRunner(), new ExecRunner(rotation ?? ffmpeg.rotation), new FfmpegRunner(ffmpeg), ...(download ? [new DownloadRunner(download)] : [])];
}
