import type { HashSession } from './hash-pool.js';
import type { PartialDownload, Segment } from './partial.js';

/**
 * Hashes the file in order while it arrives out of order, on a hashing thread that reads the
 * bytes back once they are written. The cursor tells it how far the file is written without a
 * gap; a resumed download is hashed from byte 0, what an earlier attempt left included.
 */
export class HashCursor {
  /** Bytes [0, posted) handed to the hashing thread. */
  private posted = 0;
  /** The segment the cursor is in, so most calls do not search the table. */
  private cur: Segment | null = null;

  constructor(private readonly session: HashSession) {}

  /** Forgets everything hashed (the download starts over). */
  reset(): void {
    this.posted = 0;
    this.cur = null;
    this.session.reset();
  }

  /** Hands on whatever the data file now holds, from the cursor up to the first gap. */
  advance(part: PartialDownload): void {
    let at = this.posted;
    const find = (pos: number) => part.segments.find((s) => s.start <= pos && pos < s.end);
    let seg = this.cur && this.cur.start <= at && at < this.cur.end ? this.cur : find(at);
    while (seg && seg.pos > at) {
      at = seg.pos;
      if (seg.pos < seg.end) break;
      seg = find(at);
    }
    this.cur = seg ?? null;
    if (at === this.posted) return;
    this.posted = at;
    this.session.to(at);
  }

  /** The digest of the whole file; every byte of it must be written. */
  digest(size: number): Promise<string> {
    return this.session.digest(size);
  }

  close(): void {
    this.session.close();
  }
}
