/** Longest line kept whole, in characters; longer runs without a newline are cut into pieces. */
export const MAX_LINE = 64 * 1024;

/**
 * Splits a stream of text into lines on `\r\n`, `\r` or `\n` (ffmpeg's stats end in `\r`).
 * Memory stays bounded: a line longer than MAX_LINE is emitted in pieces.
 */
export class LineSplitter {
  private rest = '';
  private lastWasCR = false;

  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 10 /* \n */) {
        if (this.lastWasCR && i === start && this.rest === '') {
          // The \n of a \r\n whose \r ended the previous line.
          start = i + 1;
          this.lastWasCR = false;
          continue;
        }
        this.emit(this.rest + text.slice(start, i));
        start = i + 1;
        this.lastWasCR = false;
      } else if (ch === 13 /* \r */) {
        this.emit(this.rest + text.slice(start, i));
        start = i + 1;
        this.lastWasCR = true;
      } else {
        this.lastWasCR = false;
      }
    }
    this.rest += text.slice(start);
    while (this.rest.length > MAX_LINE) {
      this.onLine(this.rest.slice(0, MAX_LINE));
      this.rest = this.rest.slice(MAX_LINE);
    }
  }

  /** Emits a partial last line, if any. */
  end(): void {
    if (this.rest.length > 0) this.onLine(this.rest);
    this.rest = '';
  }

  private emit(line: string): void {
    this.rest = '';
    this.onLine(line);
  }
}
