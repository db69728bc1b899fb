/** The status line and headers of an HTTP/1.x answer. */
export interface ResponseHead {
  status: number;
  /** Lower-cased names; a header sent more than once is an array. */
  headers: Record<string, string | string[]>;
  /** The connection may carry another request once this body has been read. */
  keepAlive: boolean;
}

/** A server that does not speak HTTP/1.x as it should. */
export class ProtocolError extends Error {
  readonly code = 'EPROTO';
}

/** Largest status line plus headers accepted, bytes. */
const MAX_HEAD = 64 * 1024;
/** Largest chunk-size or trailer line accepted, bytes. */
const MAX_LINE = 4096;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

type Framing = 'none' | 'length' | 'chunked' | 'close';

/**
 * Reads one answer off a connection, without copying its body: body bytes are handed on as
 * views of the buffer they arrived in. Only GET answers are expected (no HEAD, no CONNECT here).
 */
export class ResponseParser {
  head: ResponseHead | null = null;
  /** The whole body has been read. */
  done = false;
  /** Body bytes read so far. */
  bodyBytes = 0;
  private pending: Buffer | null = null;
  private framing: Framing = 'close';
  /** Body bytes left (length), or bytes left in the current chunk (chunked). */
  private left = 0;
  private chunk: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private line = '';

  /**
   * Reads the head from buf[start..]; returns the offset just after it, or -1 when it is not all
   * there yet (the part seen is kept). Informational answers (1xx) are skipped.
   */
  parseHead(buf: Buffer, start: number): number {
    let data = buf;
    let from = start;
    if (this.pending) {
      data = Buffer.concat([this.pending, buf.subarray(start)]);
      from = 0;
    }
    for (;;) {
      const at = data.indexOf(CRLFCRLF, from);
      if (at < 0) {
        if (data.length - from > MAX_HEAD) throw new ProtocolError(`the answer's headers are longer than ${MAX_HEAD} bytes`);
        this.pending = Buffer.from(data.subarray(from));
        return -1;
      }
      const head = parseHeadText(data.toString('latin1', from, at));
      from = at + 4;
      if (head.status >= 100 && head.status < 200 && head.status !== 101) continue;
      this.pending = null;
      this.start(head);
      // An offset into `buf`, however much of the head came with earlier reads.
      return buf.length - (data.length - from);
    }
  }

  /**
   * Hands the body bytes of buf[start..] to `onBody`, in order; `onBody` returns false to stop
   * reading. Returns the offset after the last byte taken: where the body ended (`done`), where
   * `onBody` stopped, or buf.length.
   */
  parseBody(buf: Buffer, start: number, onBody: (view: Buffer) => boolean): number {
    let at = start;
    const give = (n: number): boolean => {
      const view = buf.subarray(at, at + n);
      at += n;
      this.bodyBytes += n;
      return onBody(view);
    };
    while (at < buf.length && !this.done) {
      switch (this.framing) {
        case 'close':
          if (!give(buf.length - at)) return at;
          break;
        case 'length': {
          const n = Math.min(this.left, buf.length - at);
          this.left -= n;
          if (this.left === 0) this.done = true;
          if (!give(n)) return at;
          break;
        }
        case 'chunked':
          if (this.chunk === 'data') {
            const n = Math.min(this.left, buf.length - at);
            this.left -= n;
            if (this.left === 0) this.chunk = 'crlf';
            if (!give(n)) return at;
          } else {
            at = this.chunkFraming(buf, at);
          }
          break;
        case 'none':
          this.done = true;
      }
    }
    if (this.framing === 'none' || (this.framing === 'length' && this.left === 0)) this.done = true;
    return at;
  }

  /** The connection ended: true when that is how this body ends (no length given). */
  endedByClose(): boolean {
    if (this.head && this.framing === 'close') this.done = true;
    return this.done;
  }

  /** Bytes the body should still have, when known. */
  expected(): number | null {
    return this.framing === 'length' ? this.bodyBytes + this.left : null;
  }

  private start(head: ResponseHead): void {
    this.head = head;
    const te = head.headers['transfer-encoding'];
    const cl = head.headers['content-length'];
    if (head.status === 204 || head.status === 304) this.framing = 'none';
    else if (te !== undefined) {
      // Transfer-Encoding wins over any Content-Length (RFC 9112 6.3); such an answer may be an
      // attempt to desynchronise, so its connection is not used again. Without chunked last, the
      // body runs to the connection's close.
      const codings = String(te).toLowerCase().split(',').map((c) => c.trim());
      this.framing = codings[codings.length - 1] === 'chunked' ? 'chunked' : 'close';
      if (cl !== undefined || this.framing === 'close') head.keepAlive = false;
    } else if (cl !== undefined) {
      const values = new Set((Array.isArray(cl) ? cl : [cl]).flatMap((v) => v.split(',')).map((v) => v.trim()));
      const v = [...values][0] ?? '';
      if (values.size !== 1 || !/^\d+$/.test(v)) throw new ProtocolError(`bad Content-Length: ${String(cl)}`);
      this.framing = 'length';
      this.left = Number(v);
    } else {
      this.framing = 'close';
      head.keepAlive = false;
    }
    if (this.framing === 'none' || (this.framing === 'length' && this.left === 0)) this.done = true;
  }

  /** Steps over chunk sizes, the CRLF after a chunk, and trailers; returns the new offset. */
  private chunkFraming(buf: Buffer, at: number): number {
    if (this.chunk === 'crlf') {
      // The CRLF that ends a chunk's data; it may come split across reads.
      for (; at < buf.length && this.line.length < 2; at++) this.line += String.fromCharCode(buf[at] as number);
      if (this.line.length < 2) return at;
      if (this.line !== '\r\n') throw new ProtocolError('a chunk is not followed by CRLF');
      this.line = '';
      this.chunk = 'size';
      return at;
    }
    const nl = buf.indexOf(10, at);
    const end = nl < 0 ? buf.length : nl + 1;
    this.line += buf.toString('latin1', at, end);
    if (this.line.length > MAX_LINE) throw new ProtocolError('a chunk-size or trailer line is too long');
    if (nl < 0) return end;
    const line = this.line.replace(/\r?\n$/, '');
    this.line = '';
    if (this.chunk === 'trailer') {
      if (line === '') this.done = true;
      return end;
    }
    const m = /^0*([0-9a-fA-F]{1,13})(?:\s*;.*)?$/.exec(line.trim());
    if (!m) throw new ProtocolError(`bad chunk size: ${JSON.stringify(line.slice(0, 40))}`);
    this.left = parseInt(m[1] as string, 16);
    this.chunk = this.left === 0 ? 'trailer' : 'data';
    return end;
  }
}

function parseHeadText(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new ProtocolError(`not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
  const headers: Record<string, string | string[]> = {};
  // A folded line (obs-fold) continues the one before it, joined with a space (RFC 9112 5.2).
  const unfolded: string[] = [];
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && unfolded.length > 0) unfolded[unfolded.length - 1] += ` ${line.trim()}`;
    else unfolded.push(line);
  }
  for (const line of unfolded) {
    const c = line.indexOf(':');
    const name = c > 0 ? line.slice(0, c).toLowerCase() : '';
    // No space before the colon, no odd characters: other parsers would read the name otherwise.
    if (!TOKEN.test(name)) throw new ProtocolError(`bad header line: ${JSON.stringify(line.slice(0, 60))}`);
    const value = line.slice(c + 1).trim();
    const had = headers[name];
    headers[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  const connection = String(headers.connection ?? '').toLowerCase();
  const keepAlive = m[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  return { status: Number(m[2]), headers, keepAlive };
}
