/** A throttled sink: see `throttleLatest`. */
export interface Throttled<T> {
  /** Offers a value; it is passed on now, or later if it is still the latest one. */
  push(value: T): void;
  /** Drops a pending value and its timer. Call when done. */
  cancel(): void;
}

/**
 * Passes on at most one value per `everyMs` milliseconds, and always the latest one: a value
 * pushed inside the window waits for the window's end (a trailing call), replacing any value
 * still waiting. For progress reports made from a fast stream of lines.
 */
export function throttleLatest<T>(fn: (value: T) => void, everyMs: number): Throttled<T> {
  let last = -Infinity;
  let pending: { value: T } | null = null;
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    last = Date.now();
    fn(value);
  };
  return {
    push(value) {
      pending = { value };
      if (timer) return;
      const wait = last + everyMs - Date.now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    cancel() {
      pending = null;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
