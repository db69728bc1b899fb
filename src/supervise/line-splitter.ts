/**
 * Longest line passed on whole, in UTF-16 code units (64 Ki, about 64 KiB of ASCII). Longer lines
 * are passed on in pieces of at most this length, so memory stays bounded whatever the child prints.
 */
export const MAX_LINE = 64 * 1024;

/**
 * Splits a stream of text into lines on `\r\n`, `\r` or `\n` (ffmpeg's stats lines end in `\r`),
 * also when a `\r\n` pair is cut between two chunks. Lines are passed on without their ending;
 * `end()` passes on a partial last line.
 */
export class LineSplitter {
  /** The unfinished line so far; never longer than `maxLine`. */
  private rest = '';
  /** The last chunk ended a line with `\r`: a `\n` starting the next chunk belongs to it. */
  private lastWasCR = false;

  constructor(
    private readonly onLine: (line: string) => void,
    /** See MAX_LINE. Default MAX_LINE. */
    private readonly maxLine = MAX_LINE,
  ) {
    if (!Number.isInteger(maxLine) || maxLine < 1) throw new RangeError(`maxLine must be a positive integer, got ${maxLine}`);
  }

  push(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 10 /* \n */) {
        if (this.lastWasCR && i === start) {
          // The \n of a \r\n whose \r ended the previous line (maybe in the previous chunk).
          start = i + 1;
          this.lastWasCR = false;
          continue;
        }
        this.emit(text.slice(start, i));
        start = i + 1;
        this.lastWasCR = false;
      } else if (ch === 13 /* \r */) {
        this.emit(text.slice(start, i));
        start = i + 1;
        this.lastWasCR = true;
      } else {
        this.lastWasCR = false;
      }
    }
    if (start < text.length) this.add(text.slice(start));
  }

  /** Passes on a partial last line, if any. Call once, when the stream has ended. */
  end(): void {
    if (this.rest.length > 0) this.onLine(this.rest);
    this.rest = '';
    this.lastWasCR = false;
  }

  /** Appends to the unfinished line, passing on full pieces of maxLine. */
  private add(text: string): void {
    let s = this.rest + text;
    while (s.length > this.maxLine) {
      this.onLine(s.slice(0, this.maxLine));
      s = s.slice(this.maxLine);
    }
    this.rest = s;
  }

  private emit(piece: string): void {
    this.add(piece);
    const line = this.rest;
    this.rest = '';
    this.onLine(line);
  }
}
