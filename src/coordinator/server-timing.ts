/**
 * Named durations, ms, of one request's parts, sent as its `Server-Timing` header (W3C Server
 * Timing): a client, a benchmark or a browser's devtools see where the coordinator's time went.
 */
export class ServerTiming {
  private readonly parts: string[] = [];

  /** `ms` to the microsecond; a part named twice shows twice. */
  add(name: string, ms: number): void {
    this.parts.push(`${name};dur=${ms.toFixed(3)}`);
  }

  /** The header's value; null when nothing was timed. */
  header(): string | null {
    return this.parts.length > 0 ? this.parts.join(', ') : null;
  }
}
