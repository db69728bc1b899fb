/**
 * An abort controller made only when someone reads its signal. A worker holds one per running
 * job, and a short job whose runner never looks at the signal should not pay for an
 * AbortController (about 1.5 µs and an EventTarget each).
 */
export class LazyAbort<R> {
  private controller: AbortController | null = null;
  private why: R | undefined;
  private stopped = false;

  get aborted(): boolean {
    return this.stopped;
  }

  /** Why it was aborted; undefined until then. */
  get reason(): R | undefined {
    return this.why;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.stopped) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  /** The first reason wins; later calls do nothing. */
  abort(reason: R): void {
    if (this.stopped) return;
    this.stopped = true;
    this.why = reason;
    this.controller?.abort(reason);
  }
}
