import { createHash, type Hash } from 'node:crypto';
import type { PartialDownload } from './partial.js';

/** Largest read when catching up, bytes. */
const READ = 4 * 1024 * 1024;

/**
 * Hashes the file in order while it arrives out of order. Bytes that land where the cursor is are
 * hashed as they come (no second pass over them); when the cursor reaches bytes another
 * connection wrote earlier, it reads them back from the data file. A single connection
 * is hashed entirely on the fly; a resumed download catches up once on what is already there.
 */
export class HashCursor {
  private h: Hash;
  /** Bytes hashed: [0, at). */
  at = 0;

  constructor(private readonly algorithm: string) {
    this.h = createHash(algorithm);
  }

  /** Forgets everything hashed (the download starts over). */
  reset(): void {
    this.h = createHash(this.algorithm);
    this.at = 0;
  }

  /** Offers bytes just received at `pos`; they are hashed now when they are next in order. */
  offer(pos: number, buf: Buffer): void {
    if (pos !== this.at) return;
    this.h.update(buf);
    this.at += buf.length;
  }

  /**
   * Moves the cursor over whatever is already in the data file; bytes still in a segment's memory
   * wait for its own flush (every segment is flushed before the digest). It only reads, so a write
   * failure always surfaces where the download writes. Gives the event loop a turn between reads,
   * so catching up on gigabytes does not hold up heartbeats.
   */
  async catchUp(part: PartialDownload): Promise<void> {
    for (;;) {
      const seg = part.segments.find((s) => s.start <= this.at && this.at < s.end);
      const written = seg ? seg.pos - (seg.pendingBytes ?? 0) : 0;
      if (!seg || written <= this.at) return;
      const to = Math.min(written, this.at + READ);
      this.h.update(part.read(this.at, to));
      this.at = to;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async digest(part: PartialDownload, size: number): Promise<string> {
    await this.catchUp(part);
    if (this.at !== size) throw new Error(`hashed ${this.at} of ${size} bytes`);
    return this.h.digest('hex');
  }
}
