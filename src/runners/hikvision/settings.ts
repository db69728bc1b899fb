import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import type { KindSettings } from '../kind.js';

/** A worker's settings for hikvision jobs (`worker.hikvision` in drover.yaml) and its destinations. */
export interface HikvisionSettings {
  destinations: Map<string, string>;
  /** Clips of one NVR fetched at once by one job. Default 2: NVRs serve playback slowly and few at a time. */
  perDevice: number;
  /** ms. Default 10000. */
  connectTimeoutMs: number;
  /** Longest silence within an answer, ms. Default 30000. */
  readTimeoutMs: number;
  /** Tries of a clip after its first failure. Default 3. */
  retries: number;
  /** First wait after a clip's failure, ms, doubled each time. Default 2000. */
  backoffMs: number;
  /** Clips ending less than this before the device's now are left for the next run (they may still be written), ms. Default 2 min. */
  marginMs: number;
}

export const HIKVISION_DEFAULTS = { perDevice: 2, connectTimeoutMs: 10_000, readTimeoutMs: 30_000, retries: 3, backoffMs: 2_000, marginMs: 120_000 } as const;

const duration = z.union([z.string(), z.number()]);
const schema = z
  .object({
    per_device: z.number().int().min(1).max(16).optional(),
    connect_timeout: duration.optional(),
    read_timeout: duration.optional(),
    retries: z.number().int().min(0).max(20).optional(),
    backoff: duration.optional(),
    margin: duration.optional(),
  })
  .strict();

type HikvisionConfig = z.infer<typeof schema>;

export const hikvisionSettings: KindSettings<HikvisionSettings, HikvisionConfig> = {
  schema,
  resolve(raw, worker, where) {
    const D = HIKVISION_DEFAULTS;
    const ms = (v: string | number | undefined, dflt: number, key: string) => (v === undefined ? dflt : parseDuration(v, `${where}.${key}`));
    return {
      destinations: worker.destinations,
      perDevice: raw.per_device ?? D.perDevice,
      connectTimeoutMs: ms(raw.connect_timeout, D.connectTimeoutMs, 'connect_timeout'),
      readTimeoutMs: ms(raw.read_timeout, D.readTimeoutMs, 'read_timeout'),
      retries: raw.retries ?? D.retries,
      backoffMs: ms(raw.backoff, D.backoffMs, 'backoff'),
      marginMs: ms(raw.margin, D.marginMs, 'margin'),
    };
  },
};
