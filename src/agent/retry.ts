import { backoffDelay } from '../core/backoff.js';
import { sleepFor } from '../core/long-timeout.js';

/** Retry delays for talking to the coordinator: 0.5 s doubling to 15 s, jittered. */
export function reconnectDelay(failures: number): number {
  return backoffDelay(failures, 500, 15_000);
}

/**
 * Resolves after `ms`, or at once when `signal` aborts. Never rejects. Any length: the heartbeat
 * interval comes from the coordinator and the shutdown grace from the config (see sleepFor).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleepFor(ms, signal);
}
