/** The q-th quantile (0..1) of `xs` by nearest rank. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Samples thrown away before `startLatency` records, so connections and caches are warm. */
const WARMUP = 20;

/** Tells `startLatency` when the queue under test starts a job; its processor calls `started()`. */
export class StartProbe {
  private waiting: ((at: number) => void) | null = null;

  /** Called by the job processor; outside a measurement it does nothing. */
  started(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.(performance.now());
  }

  next(): Promise<number> {
    return new Promise((r) => (this.waiting = r));
  }
}

/**
 * Add→start latency with an idle consumer: adds one job at a time with `add` and times it until
 * `probe` reports the start. Returns p50 and p99 in ms over `samples` (after a warm-up).
 */
export async function startLatency(samples: number, add: () => Promise<unknown>, probe: StartProbe): Promise<{ p50Ms: number; p99Ms: number }> {
  const lat: number[] = [];
  for (let i = 0; i < samples + WARMUP; i++) {
    // Let the consumer go idle in between, as an idle one would be.
    await new Promise((r) => setTimeout(r, 5));
    const started = probe.next();
    const t = performance.now();
    await add();
    const at = await started;
    if (i >= WARMUP) lat.push(at - t);
  }
  return { p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99) };
}

/** Median (the upper one of an even count), least and greatest of `xs`. */
export function spread(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? NaN, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

/** E.g. `3.21 s (2.90–3.50, ±9 %)`: the median, the range and half the range as a share of the median. */
export function describeSpread(xs: number[], unit: string, digits = 2): string {
  const { median, min, max } = spread(xs);
  return `${fmt(median, digits)} ${unit} (${fmt(min, digits)}–${fmt(max, digits)}, ±${fmt((50 * (max - min)) / median)} %)`;
}
