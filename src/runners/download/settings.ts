import type { HostGuard } from '../../core/host-guard.js';

/** A worker's download settings (`download:` and `destinations:` in drover.yaml). */
export interface DownloadSettings {
  /** Named directories jobs may write below: `dest: archive:videos` lands in destinations.archive/videos. */
  destinations: Map<string, string>;
  /** The hosts downloads may reach (`worker.allow_hosts` / `deny_hosts`). Default: every host. */
  hosts?: HostGuard;
  /** Partial downloads live in TEMPDIR/JOB_ID, kept across attempts and restarts. Absolute. */
  tempDir: string;
  /** Download jobs at once on this worker; more wait for a slot. Default 10 (`workers` of Seafile's offline download). */
  parallel: number;
  /** Connections per file. Default 8. */
  connections: number;
  /** No segment is split below this, bytes. Default 4 MiB. */
  minSplit: number;
  /** Connections at once on this worker, all jobs together. Default 64. */
  maxConnections: number;
  /** Connections at once to one host from this worker. Default 16. */
  perHost: number;
  /** ms. Default 15000. */
  connectTimeoutMs: number;
  /** Longest silence on a connection, ms. Default 60000. */
  readTimeoutMs: number;
  /** Bytes/s below which, for `lowestSpeedWindowMs`, a download counts as stalled and fails (retryable). 0 = off. */
  lowestSpeed: number;
  lowestSpeedWindowMs: number;
  /** Bytes/s for one job, all connections together; 0 = unlimited. */
  speedLimit: number;
  /** Redirects followed. Default 10. */
  maxRedirects: number;
  /** Tries of one range within an attempt before the attempt fails. Default 5. */
  retries: number;
  /** Partial downloads untouched this long are deleted when the worker starts, ms. Default 7 days. */
  tempKeepMs: number;
  /** Extra CA certificates (PEM) trusted for HTTPS besides Node's list (`ca_file`). Default none. */
  ca?: string | null;
}

/** Every default of the download kind, once: the settings below, `worker.download` in drover.yaml and the README take these. */
export const DOWNLOAD_DEFAULTS = {
  /** Relative to the worker's working directory. */
  tempDir: './drover-data/download-tmp',
  parallel: 10,
  connections: 8,
  minSplit: 4 * 1024 * 1024,
  maxConnections: 64,
  perHost: 16,
  connectTimeoutMs: 15_000,
  readTimeoutMs: 60_000,
  lowestSpeed: 0,
  lowestSpeedWindowMs: 30_000,
  speedLimit: 0,
  maxRedirects: 10,
  retries: 5,
  tempKeepMs: 7 * 24 * 3600_000,
  /** An attempt's time limit when the job gives none (`server.download_time_limit`): Seafile's 30 minutes. */
  timeLimitMs: 30 * 60_000,
} as const;
