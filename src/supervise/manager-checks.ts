import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import type { ManagerSettings } from './encoding-manager.js';

const duration = z.union([z.string(), z.number()]);

/**
 * The manager's settings in drover.yaml (`worker.ffmpeg.checks`, a template's `checks`): FF
 * WRAPPER's variable names in lower case (ENCODING_MIN_SPEED → min_speed). Every key optional.
 */
export const checksSchema = z
  .object({
    manager_start_delay: duration.optional(),
    check_start_delay: duration.optional(),
    /** false: no fps/speed checks (ENCODING_DISABLE_CHECK); hung and stall checks stay. */
    enabled: z.boolean().optional(),
    min_speed: z.number().min(0).optional(),
    delta_speed: z.number().min(0).optional(),
    delta_fps: z.number().min(0).optional(),
    max_error_time: duration.optional(),
    min_base_fps: z.number().min(0).optional(),
    max_stuck_time: duration.optional(),
    stall_time: duration.optional(),
    /** all (fps and speed both low, FF WRAPPER's rule) or any (either). ENCODING_FAIL_WHEN. */
    fail_when: z.enum(['any', 'all']).optional(),
  })
  .strict();

export type ChecksConfig = z.infer<typeof checksSchema>;

/** The keys given, in the manager's terms (durations in ms). Throws ConfigError naming `where.KEY`. */
export function managerSettingsOf(c: ChecksConfig, where: string): Partial<ManagerSettings> {
  const ms = (v: string | number | undefined, k: string) => (v === undefined ? undefined : parseDuration(v, `${where}.${k}`));
  const stuck = c.max_stuck_time === undefined ? undefined : positive(parseDuration(c.max_stuck_time, `${where}.max_stuck_time`), `${where}.max_stuck_time`);
  const out: Partial<ManagerSettings> = {
    startDelayMs: ms(c.manager_start_delay, 'manager_start_delay'),
    checkStartDelayMs: ms(c.check_start_delay, 'check_start_delay'),
    checkEnabled: c.enabled,
    minSpeed: c.min_speed,
    deltaSpeed: c.delta_speed,
    deltaFps: c.delta_fps,
    maxErrorMs: ms(c.max_error_time, 'max_error_time'),
    minBaseFps: c.min_base_fps,
    maxStuckMs: stuck,
    // Like ENCODING_MAX_STALL_TIME: the stuck time unless given.
    stallMs: c.stall_time === undefined ? stuck : positive(parseDuration(c.stall_time, `${where}.stall_time`), `${where}.stall_time`),
    failWhen: c.fail_when,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<ManagerSettings>;
}

/** `ms` when above 0; else a ConfigError naming `where`. */
export function positive(ms: number, where: string): number {
  if (ms <= 0) throw new ConfigError(`${where}: must be more than 0`);
  return ms;
}
