import { backoffDelay } from '../core/backoff.js';

/** Retry delays for talking to the coordinator: 0.5 s doubling to 15 s, jittered. */
export function reconnectDelay(failures: number): number {
  return backoffDelay(failures, 500, 15_000);
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
