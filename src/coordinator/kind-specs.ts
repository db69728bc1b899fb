import type { Params } from '../core/job.js';
import { downloadSecretsOf, parseDownloadParams } from '../runners/download/params.js';
import { DOWNLOAD_TIME_LIMIT_MS } from '../runners/download/settings.js';
import { ffmpegSecretsOf, parseFfmpegParams } from '../runners/ffmpeg/ffmpeg-params.js';

/** What the coordinator knows of a built-in kind without a template: its checks and defaults. */
export interface KindSpec {
  /** Throws a ValidationError naming `${field}.PARAM` when the params cannot work. */
  check(params: Params, field: string): void;
  /** The params of these that are secret. */
  secretsOf(params: Params): string[];
  /** Time limit of one attempt when the job gives none, ms. */
  timeLimitMs: number | null;
}

export const KIND_SPECS: Record<string, KindSpec> = {
  download: {
    check: (params, field) => void parseDownloadParams(params, field),
    secretsOf: downloadSecretsOf,
    timeLimitMs: DOWNLOAD_TIME_LIMIT_MS,
  },
  ffmpeg: {
    check: (params, field) => void parseFfmpegParams(params, field),
    secretsOf: ffmpegSecretsOf,
    timeLimitMs: null,
  },
};
