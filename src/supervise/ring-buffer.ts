/** The last `capacity` items pushed; older ones are dropped. Memory is bounded by capacity. */
export class RingBuffer<T> {
  private readonly items: T[] = [];
  /** Index of the oldest item once the buffer is full. */
  private start = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get length(): number {
    return this.items.length;
  }

  /** The newest item, or undefined when empty. */
  newest(): T | undefined {
    if (this.items.length === 0) return undefined;
    return this.items[(this.start + this.items.length - 1) % this.items.length];
  }

  /** The last `n` items (all when n is 0 or more than held), oldest first. Copies only those n. */
  last(n = 0): T[] {
    const len = this.items.length;
    const take = n > 0 && n < len ? n : len;
    const out = new Array<T>(take);
    for (let i = 0; i < take; i++) out[i] = this.items[(this.start + len - take + i) % len] as T;
    return out;
  }
}
