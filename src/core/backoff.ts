/**
 * Delay before attempt `attempt + 1` after `attempt` failed: base * 2^(attempt-1), capped,
 * with "full jitter" on the upper half so retries from many jobs spread out.
 * `random` is injected for tests; it returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
