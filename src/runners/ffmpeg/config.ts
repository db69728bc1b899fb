import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { MANAGER_DEFAULTS } from '../../supervise/encoding-manager.js';
import { checksSchema, managerSettingsOf } from '../../supervise/manager-checks.js';
import type { KindSettings } from '../kind.js';
import { FFMPEG_DEFAULTS, type FfmpegSettings } from './settings.js';

const duration = z.union([z.string(), z.number()]);

/** `worker.ffmpeg` in drover.yaml; every key optional, defaults in FFMPEG_DEFAULTS. */
const ffmpegSchema = z
  .object({
    binary: z.string().optional(),
    ffprobe: z.string().optional(),
    checks: checksSchema.optional(),
    restart: z
      .object({
        backoff: duration.optional(),
        max_backoff: duration.optional(),
        stable_after: duration.optional(),
        max_restarts: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

type FfmpegConfig = z.infer<typeof ffmpegSchema>;

export const ffmpegSettings: KindSettings<FfmpegSettings, FfmpegConfig> = {
  schema: ffmpegSchema,
  resolve(f, worker, where) {
    const r = f.restart ?? {};
    const R = FFMPEG_DEFAULTS.restart;
    const ms = (v: string | number | undefined, dflt: number, key: string) => (v === undefined ? dflt : parseDuration(v, `${where}.restart.${key}`));
    return {
      ffmpeg: f.binary ?? FFMPEG_DEFAULTS.ffmpeg,
      ffprobe: f.ffprobe ?? FFMPEG_DEFAULTS.ffprobe,
      manager: { ...MANAGER_DEFAULTS, ...managerSettingsOf(f.checks ?? {}, `${where}.checks`) },
      restart: {
        backoffMs: ms(r.backoff, R.backoffMs, 'backoff'),
        maxBackoffMs: ms(r.max_backoff, R.maxBackoffMs, 'max_backoff'),
        stableMs: ms(r.stable_after, R.stableMs, 'stable_after'),
        maxRestarts: r.max_restarts ?? R.maxRestarts,
      },
      destinations: worker.destinations,
      rotation: worker.rotation,
      hosts: worker.hosts,
    };
  },
};
