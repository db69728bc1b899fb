/**
 * The last `capacity` lines with the second each arrived: FF WRAPPER's log buffers (STDOUT_BUFFER_LEN,
 * PROGRESS_BUFFER_LEN). Arrival times are kept as seconds since the first line, small integers V8
 * stores unboxed, so 100,000 entries cost the strings and about 400 KB beside them.
 */
export class TimedLines {
  private readonly lines: string[] = [];
  private readonly seconds: number[] = [];
  /** Index of the oldest entry once full. */
  private start = 0;
  /** Epoch second of the first entry. */
  private base = -1;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`line buffer capacity must be a positive integer, got ${capacity}`);
  }

  /** Adds `line`, which arrived at `atMs` (epoch ms). */
  push(line: string, atMs: number): void {
    const sec = Math.floor(atMs / 1000);
    if (this.base < 0) this.base = sec;
    if (this.lines.length < this.capacity) {
      this.lines.push(line);
      this.seconds.push(sec - this.base);
    } else {
      this.lines[this.start] = line;
      this.seconds[this.start] = sec - this.base;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get length(): number {
    return this.lines.length;
  }

  /** The last `n` entries (all when n is 0 or more than held), oldest first, as [epoch ms, line]. */
  last(n = 0): Array<[number, string]> {
    const len = this.lines.length;
    const take = n > 0 && n < len ? n : len;
    const out = new Array<[number, string]>(take);
    for (let i = 0; i < take; i++) {
      const k = (this.start + len - take + i) % len;
      out[i] = [((this.seconds[k] as number) + this.base) * 1000, this.lines[k] as string];
    }
    return out;
  }
}
