import { MANAGER_DEFAULTS, type ManagerSettings } from '../../supervise/encoding-manager.js';
import { ROTATION_DEFAULTS, type Rotation } from '../../supervise/rotating-log.js';
import type { HostGuard } from '../../core/host-guard.js';

/** How a live recording is restarted within one attempt (pm2's conventions). */
export interface RestartPolicy {
  /** First wait before a restart, ms. Default 1000. */
  backoffMs: number;
  /** Each wait is 1.5 times the last, up to this, ms. Default 15000. */
  maxBackoffMs: number;
  /** A run that lasted this long resets the wait and the count, ms. Default 30000. */
  stableMs: number;
  /** Restarts in a row without a stable run before the attempt fails. Default 10. */
  maxRestarts: number;
}

/** A worker's `ffmpeg:` settings. */
export interface FfmpegSettings {
  /** The ffmpeg binary. Default `ffmpeg` (on PATH). */
  ffmpeg: string;
  /** The ffprobe binary, used for the input's duration (percent). Default `ffprobe`. */
  ffprobe: string;
  /** FF WRAPPER's manager; templates may change any of it (`checks:`). */
  manager: ManagerSettings;
  restart: RestartPolicy;
  /** Named directories jobs may deliver to (the worker's `destinations`). */
  destinations: Map<string, string>;
  /** Job log files. Default: by size, 25,000 KiB, 5 backups. */
  rotation: Rotation;
  /** The hosts inputs and outputs may reach (`worker.allow_hosts` / `deny_hosts`). Default: every host. */
  hosts?: HostGuard;
}

export const RESTART_DEFAULTS: RestartPolicy = { backoffMs: 1000, maxBackoffMs: 15_000, stableMs: 30_000, maxRestarts: 10 };

export const FFMPEG_DEFAULTS: FfmpegSettings = {
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffprobe',
  manager: MANAGER_DEFAULTS,
  restart: RESTART_DEFAULTS,
  destinations: new Map(),
  rotation: ROTATION_DEFAULTS,
};
