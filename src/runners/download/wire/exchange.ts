import { ResponseParser, type ResponseHead } from './response-parser.js';

/**
 * What the body's reader does after a piece: nothing (go on), 'stop' (no more is wanted: the
 * connection is closed unless the body is complete), or a number of ms to wait before reading
 * on (a speed limit).
 */
export type BodyAction = void | 'stop' | number;
/** Takes one piece of the body. The view is only valid during the call: write or copy it. */
export type BodySink = (view: Buffer) => BodyAction;

/** The connection an exchange runs on, as the exchange sees it. */
export interface ExchangeHost {
  resumeReading(): void;
  /** Pauses for `ms`, then reads on (the read timeout does not run meanwhile). */
  pauseFor(ms: number): void;
  /** The answer is over: keep the connection for another request, or close it. */
  finished(reusable: boolean): void;
  destroy(err?: Error): void;
}

type Waiter = { resolve: () => void; reject: (e: Error) => void };

/**
 * One request and its answer on one connection. `head()` resolves when the status line and
 * headers are in; `pipe()` then streams the body into a sink without copying it. Body bytes
 * that came with the head wait (copied, at most one read) until `pipe()` is called, and the
 * socket does not read on meanwhile.
 */
export class Exchange {
  status = 0;
  headers: ResponseHead['headers'] = {};
  /** Some byte of the answer arrived (a reused connection that closes before that may be retried). */
  answered = false;
  private readonly parser = new ResponseParser();
  private sink: BodySink | null = null;
  private early: Buffer | null = null;
  /** The connection ended cleanly while body bytes waited for `pipe()`. */
  private eof = false;
  private outcome: 'done' | Error | null = null;
  private headWait: { resolve: (x: Exchange) => void; reject: (e: Error) => void } | null = null;
  private bodyWait: Waiter | null = null;

  constructor(
    private readonly host: ExchangeHost,
    /** Called once, when the exchange is over (done, failed or dropped). */
    private readonly onSettle: () => void = () => undefined,
  ) {}

  head(): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      if (this.outcome instanceof Error) return reject(this.outcome);
      this.headWait = { resolve, reject };
    });
  }

  /** Streams the body into `sink`; resolves once it has all been read (or the sink said stop). */
  pipe(sink: BodySink): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.outcome === 'done' && !this.early) return resolve();
      if (this.outcome instanceof Error) return reject(this.outcome);
      this.sink = sink;
      this.bodyWait = { resolve, reject };
      const early = this.early;
      this.early = null;
      if (!early) return this.host.resumeReading();
      try {
        if (this.take(early) && !this.outcome) this.host.resumeReading();
      } catch (err) {
        return this.fail(err as Error);
      }
      if (this.eof) this.onClose(null);
    });
  }

  /** Drops the answer without reading the rest of it (the connection is closed if it is not done). */
  discard(): void {
    if (this.outcome) return;
    this.settle(new Error('answer discarded'));
    this.host.destroy();
  }

  /** Bytes from the connection; false to stop reading for now. */
  onBytes(data: Buffer): boolean {
    if (this.outcome) {
      // Bytes after the answer, or after it was dropped: this connection is not usable.
      this.host.destroy();
      return false;
    }
    this.answered = true;
    try {
      let at = 0;
      if (!this.parser.head) {
        at = this.parser.parseHead(data, 0);
        if (at < 0) return true;
        const head = this.parser.head as unknown as ResponseHead;
        this.status = head.status;
        this.headers = head.headers;
        if (at < data.length) this.early = Buffer.from(data.subarray(at));
        if (this.parser.done && !this.early) this.complete(false);
        this.headWait?.resolve(this);
        this.headWait = null;
        return false;
      }
      return this.take(data, at);
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
  }

  /** The connection closed (with `err` if it failed). */
  onClose(err: Error | null): void {
    if (this.outcome) return;
    if (!err && this.early) {
      this.eof = true;
      return;
    }
    if (!err && this.parser.head && this.parser.endedByClose()) return this.complete(false);
    const what = !this.parser.head
      ? 'the server closed the connection without answering'
      : `the connection closed after ${this.parser.bodyBytes}${this.parser.expected() !== null ? ` of ${this.parser.expected()}` : ''} body bytes`;
    this.fail(err ?? Object.assign(new Error(what), { code: 'ECONNRESET' }));
  }

  private take(data: Buffer, from = 0): boolean {
    const sink = this.sink;
    if (!sink) {
      this.early = this.early ? Buffer.concat([this.early, data.subarray(from)]) : Buffer.from(data.subarray(from));
      return false;
    }
    let action: BodyAction = undefined;
    let stopped = false;
    const end = this.parser.parseBody(data, from, (view) => {
      action = sink(view);
      if (action === 'stop') stopped = true;
      return !stopped;
    });
    if (this.parser.done) {
      this.complete(end < data.length);
      return false;
    }
    if (stopped) {
      this.settle('done');
      this.host.destroy();
      return false;
    }
    if (typeof action === 'number' && action > 0) {
      this.host.pauseFor(action);
      return false;
    }
    return true;
  }

  private complete(leftover: boolean): void {
    if (this.outcome) return;
    this.settle('done');
    this.host.finished(!leftover && (this.parser.head?.keepAlive ?? false));
  }

  private fail(err: Error): void {
    if (this.outcome) return;
    this.settle(err);
    this.host.destroy();
  }

  private settle(outcome: 'done' | Error): void {
    this.outcome = outcome;
    this.onSettle();
    if (outcome instanceof Error) {
      this.headWait?.reject(outcome);
      this.bodyWait?.reject(outcome);
    } else {
      this.headWait?.resolve(this);
      this.bodyWait?.resolve();
    }
    this.headWait = null;
    this.bodyWait = null;
  }
}
