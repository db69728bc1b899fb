import os from 'node:os';
import { DEFAULT_SERVER_URL, PROTOCOL_DEFAULTS } from '../protocol/defaults.js';
import { DEFAULT_DESTINATION } from '../runners/shared/destination.js';

/** Every default of a worker, once: the Agent, `worker:` in drover.yaml and the README take these. */
export const AGENT_DEFAULTS = {
  server: DEFAULT_SERVER_URL,
  /** Job output directories go below this (relative to the working directory). */
  outputRoot: './downloads',
  /** One log file per job, and `running/` for its process group's pid file. */
  logDir: './drover-data/worker-logs',
  /** When the config names none: downloads without a `dest` land here. */
  destinations: { [DEFAULT_DESTINATION]: './downloads' } as Readonly<Record<string, string>>,
  /** After SIGTERM, running jobs get this long before they are stopped and given back, ms. */
  shutdownGraceMs: 30_000,
  /** Length of the lease and stop long polls, ms. */
  longPollMs: PROTOCOL_DEFAULTS.longPollMs,
  /** Until the coordinator's first answer sets it, ms. */
  heartbeatIntervalMs: PROTOCOL_DEFAULTS.heartbeatIntervalMs,
} as const;

/** Jobs at once when not set: one per CPU. */
export function defaultConcurrency(): number {
  return os.availableParallelism();
}

/** Default worker name: host name and process id, unique per process on a machine. */
export function defaultWorkerName(): string {
  return `${os.hostname()}-${process.pid}`;
}
