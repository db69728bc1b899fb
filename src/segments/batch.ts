/**
 * Drover's batch fetch, an extension between Drover nodes (wubloader's restreamer has no such
 * route, and a wubloader backfiller never sees it): one request brings many segments of an hour,
 * so a full pass costs a request per batch instead of one per segment.
 *
 * - An hour's listing (`GET /files/CH/Q/HOUR`) from a Drover server carries
 *   `X-Drover-Batch: N`, the most names one batch may ask for. A peer without it gets plain GETs.
 * - `POST /segments/CH/Q/HOUR` with a JSON array of segment names answers
 *   `application/x-drover-segments`: for each name, in the order asked, a line `SIZE NAME\n`
 *   followed by SIZE bytes, or `- NAME\n` when it is not served (missing, tombstoned, temp).
 *   A name that is not a plain path part makes the whole request a 400.
 */
export const BATCH_HEADER = 'x-drover-batch';
export const BATCH_TYPE = 'application/x-drover-segments';
/** Names one batch may ask for. */
export const BATCH_MAX = 256;
/** A frame's header line is refused past this, bytes: a segment name is under 100. */
const MAX_HEADER_BYTES = 1024;

/** The line that opens a segment's frame; `size` null for one that is not served. */
export function frameHeader(name: string, size: number | null): Buffer {
  return Buffer.from(`${size === null ? '-' : size} ${name}\n`, 'utf8');
}

/** What a batch answer holds, frame by frame, or why it is not one. */
export interface FrameSink {
  /** A segment's bytes, whole (only valid during the call). */
  segment(name: string, data: Buffer): void;
  /** A name the peer does not serve. */
  absent(name: string): void;
}

/**
 * Splits a batch answer into segments as its chunks arrive. Throws (a plain Error with the reason)
 * when the answer is not the frames of the names asked, in order, each at most `maxBytes`.
 */
export class FrameDecoder {
  private next = 0;
  private header: Buffer[] = [];
  private headerBytes = 0;
  /** The open frame's size, null between frames; its bytes so far, when they span chunks. */
  private size: number | null = null;
  private body: Buffer | null = null;
  private scratch = Buffer.alloc(0);
  private filled = 0;
  private name = '';

  constructor(
    private readonly names: readonly string[],
    private readonly maxBytes: number,
    private readonly sink: FrameSink,
  ) {}

  /** Names fully answered so far. */
  get answered(): number {
    return this.next;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.size === null) {
        const nl = chunk.indexOf(0x0a, at);
        const part = chunk.subarray(at, nl < 0 ? chunk.length : nl);
        this.headerBytes += part.length;
        if (this.headerBytes > MAX_HEADER_BYTES) throw new Error(`a frame header longer than ${MAX_HEADER_BYTES} bytes`);
        this.header.push(part);
        if (nl < 0) return;
        at = nl + 1;
        this.openFrame(Buffer.concat(this.header).toString('utf8'));
        this.header = [];
        this.headerBytes = 0;
        continue;
      }
      const want = this.size - this.filled;
      // A segment inside one chunk is passed as a view of it, without a copy.
      if (this.body === null && chunk.length - at >= want) {
        this.closeFrame(chunk.subarray(at, at + want));
        at += want;
        continue;
      }
      if (this.body === null) {
        // One buffer for every segment that spans chunks: the sink is done with each before the next.
        if (this.scratch.length < this.size) this.scratch = Buffer.allocUnsafe(Math.max(this.size, 2 * this.scratch.length));
        this.body = this.scratch.subarray(0, this.size);
      }
      const n = Math.min(want, chunk.length - at);
      chunk.copy(this.body, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.size) this.closeFrame(this.body);
    }
  }

  /** At the end of the answer: throws unless every name was answered. */
  end(): void {
    if (this.size !== null || this.headerBytes > 0) throw new Error(`the answer ended inside the frame of ${this.name || 'a segment'}`);
    if (this.next < this.names.length) throw new Error(`the answer ended after ${this.next} of ${this.names.length} segments`);
  }

  private openFrame(line: string): void {
    const space = line.indexOf(' ');
    const size = line.slice(0, space);
    const name = line.slice(space + 1);
    const expected = this.names[this.next];
    if (space < 0 || expected === undefined || name !== expected) {
      throw new Error(`a frame ${JSON.stringify(line.slice(0, 120))} where ${expected === undefined ? 'nothing more' : expected} was asked`);
    }
    this.name = name;
    if (size === '-') {
      this.next++;
      this.name = '';
      this.sink.absent(name);
      return;
    }
    if (!/^\d{1,12}$/.test(size)) throw new Error(`a frame of ${name} with size ${JSON.stringify(size)}`);
    const n = Number(size);
    if (n > this.maxBytes) throw new Error(`${name}: ${n} bytes, more than a segment may have (${this.maxBytes})`);
    this.size = n;
    this.filled = 0;
    if (n === 0) this.closeFrame(Buffer.alloc(0));
  }

  private closeFrame(data: Buffer): void {
    const name = this.name;
    this.size = null;
    this.body = null;
    this.filled = 0;
    this.name = '';
    this.next++;
    this.sink.segment(name, data);
  }
}
