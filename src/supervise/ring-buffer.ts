/** The last `capacity` items pushed; older ones are dropped. Memory is bounded by capacity. */
export class RingBuffer<T> {
  private readonly items: T[] = [];
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

  /** The last `n` items (all when n is 0 or more than held), oldest first. */
  last(n = 0): T[] {
    const all = [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
    return n > 0 && n < all.length ? all.slice(all.length - n) : all;
  }
}
