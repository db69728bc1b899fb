/**
 * Timers for delays that may exceed what Node's timers hold.
 *
 * Node keeps a timer's delay in a signed 32-bit int: anything above 2^31-1 ms (about 24.8 days),
 * and Infinity, is replaced by 1 ms with a TimeoutOverflowWarning. A job's `timeLimit: "25d"`
 * would then end the job at once. Every delay that comes from a job, the config or a request
 * goes through these helpers, which wait in chunks of at most MAX_TIMER_MS.
 */

/** The longest delay one Node timer holds, ms (2^31-1, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

/** A pending `longTimeout`. */
export interface LongTimeout {
  /** Stops it; `fn` is not called. Safe to call more than once, and after it fired. */
  cancel(): void;
  /** Lets the process exit while this is the only thing pending (as `Timeout.unref`). */
  unref(): LongTimeout;
}

/**
 * Calls `fn` once after `ms` milliseconds, however long: a delay beyond MAX_TIMER_MS is waited
 * out as a chain of timers of at most MAX_TIMER_MS each. Infinity never fires; a negative or NaN
 * delay fires as soon as possible (as `setTimeout` does). The chunks are counted, not read off the
 * wall clock, so like `setTimeout` this follows the monotonic clock and ignores clock steps.
 */
export function longTimeout(fn: () => void, ms: number): LongTimeout {
  let left = ms > 0 ? ms : 0;
  let timer: NodeJS.Timeout | null = null;
  let unref = false;
  const arm = () => {
    const chunk = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => {
      left -= chunk;
      if (left > 0) arm();
      else {
        timer = null;
        fn();
      }
    }, chunk);
    if (unref) timer.unref();
  };
  arm();
  const handle: LongTimeout = {
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
    unref() {
      unref = true;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}

/**
 * Resolves after `ms` (any length, see `longTimeout`), or at once when `signal` aborts; never
 * rejects. For loops that look at `signal` themselves afterwards.
 */
export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      t.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = longTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `setTimeout` of node:timers/promises for any length: resolves after `ms`, rejects with an
 * AbortError (code ABORT_ERR, its `cause` the signal's reason) when `signal` aborts first or
 * already has.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  // Shaped as node:timers/promises' own: name AbortError, code ABORT_ERR.
  const aborted = () => Object.assign(new Error('The operation was aborted', { cause: signal?.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
  if (signal?.aborted) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      t.cancel();
      reject(aborted());
    };
    const t = longTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
