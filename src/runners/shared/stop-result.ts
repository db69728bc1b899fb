import type { AbortReason, RunResult } from '../runner.js';

/**
 * The result of an attempt stopped from outside, the same rule for every kind: a cancel ends
 * `canceled`, a time limit `timed_out`; a shutdown or a lost lease is a failure another attempt
 * may fix. `error` says what was stopped, in the kind's words.
 */
export function stoppedResult(reason: AbortReason, error: string, result?: unknown): RunResult {
  const r = result === undefined ? {} : { result };
  if (reason === 'canceled') return { outcome: 'canceled', error, ...r };
  if (reason === 'timed_out') return { outcome: 'timed_out', error, ...r };
  return { outcome: 'failed', error, ...r, retryable: true };
}
