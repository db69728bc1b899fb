import { setTimeout as delay } from 'node:timers/promises';
import { discard, dispositionName, get, header, HttpError, showUrl, type Response } from './http.js';
import type { HashCursor } from './hash-cursor.js';
import type { ConnectionLimits } from './limiter.js';
import { urlFingerprint, type PartialDownload, type PartialMeta, type Segment } from './partial.js';
import { answersRange, contentRange, tiles, withoutRange } from './ranges.js';
import type { DownloadSettings } from './settings.js';
import type { WireClient } from './wire/client.js';

/** Live figures of a transfer, for progress. */
export interface TransferStats {
  /** Bytes received in this attempt. */
  bytes: number;
  total: number | null;
  connections: number;
}

export interface TransferOptions {
  url: URL;
  headers: Record<string, string>;
  part: PartialDownload;
  /** Connections for this file. */
  connections: number;
  settings: DownloadSettings;
  limits: ConnectionLimits;
  client: WireClient;
  signal: AbortSignal;
  maxSize: number | null;
  log: (text: string) => void;
  /** Updated as bytes arrive; the caller's progress ticker reads it. */
  stats: TransferStats;
  /** Hashes the file in order as it is written. */
  hash: HashCursor;
}

export interface TransferResult {
  meta: PartialMeta;
  size: number;
}

/** Longest Retry-After waited out within an attempt, ms. */
const MAX_RETRY_AFTER_MS = 60_000;
/** Statuses a signed link gives once it has expired: the original URL is asked again. */
const EXPIRED = new Set([401, 403, 404, 410]);

/** Ranges a file is cut into at most (their size grows with the file). */
const MAX_SEGMENTS = 1024;

/** An open-ended segment for a server that does not say how long the file is. */
const UNKNOWN_END = Number.MAX_SAFE_INTEGER;

/**
 * Fetches the file into the partial download, resuming what an earlier attempt left when the
 * server still has the same file (If-Range with its ETag or Last-Modified), else starting over.
 * Large files on servers that take ranges go over several connections; a connection with nothing
 * left to do takes half of the largest range still in flight.
 */
export async function transfer(o: TransferOptions): Promise<TransferResult> {
  const part = o.part;
  const m = part.meta;
  // Resuming needs a validator (If-Range): without one a changed file of the same length would
  // be spliced from two versions. The table must also tile the file: a worker killed while it
  // split a range may have left it half-written.
  if (m && (m.url === urlFingerprint(o.url.href) || m.url === o.url.href) && m.ranges && m.total !== null && (m.etag ?? m.lastModified) && tiles(part.segments, m.total)) {
    const pending = part.segments.filter((s) => s.pos < s.end);
    if (pending.length === 0) return { meta: m, size: m.total };
    const resumed = await new Engine(o, m).resume(pending[0] as Segment);
    if (resumed) return resumed;
  }
  return new Engine(o, null).fresh();
}

class Engine {
  private readonly queue: Segment[] = [];
  private readonly active = new Set<Segment>();
  private readonly stop = new AbortController();
  private readonly signal: AbortSignal;
  private failure: Error | null = null;
  private url: URL;
  /** Request headers; after a redirect to another origin, without credentials. */
  private headers: Record<string, string>;
  private readonly started = Date.now();
  /**
   * Bytes asked for in one request: one split. A server may push a whole answer into the socket
   * before the client reads it (nginx's limit_rate sends a second's worth at once), so a stopped
   * or killed transfer wastes at most one split per connection.
   */
  private readonly piece: number;
  private sent = 0;

  constructor(
    private readonly o: TransferOptions,
    private meta: PartialMeta | null,
  ) {
    this.signal = AbortSignal.any([o.signal, this.stop.signal]);
    this.url = o.url;
    this.headers = o.headers;
    this.piece = o.settings.minSplit;
  }

  /** Goes on from `first`; null when the server no longer has the same file (then start over). */
  async resume(first: Segment): Promise<TransferResult | null> {
    const meta = this.meta as PartialMeta;
    const { res, release } = await this.retrying(() => this.request(first, meta));
    if (!answersRange(res, first.pos, meta)) {
      release();
      discard(res);
      this.o.log(`the server's file changed or it no longer takes ranges (HTTP ${res.status}); starting over\n`);
      return null;
    }
    this.url = res.url;
    this.headers = withoutRange(res.sentHeaders);
    this.o.log(`resuming at ${this.o.part.done()} of ${meta.total} bytes\n`);
    this.queue.push(...this.o.part.segments.filter((s) => s.pos < s.end && s !== first));
    return this.run({ seg: first, res, release });
  }

  async fresh(): Promise<TransferResult> {
    const s = this.o.settings;
    const { res, release } = await this.retrying(async () => {
      const r = await get(this.url, { ...this.headers, range: `bytes=0-${s.minSplit - 1}` }, this.http());
      const range = r.status === 206 ? contentRange(r) : null;
      if (r.status === 200 || (range && range.start === 0 && range.total !== null)) return r;
      // An empty file answers a range with 416, and a range of a file of unknown length cannot
      // be split: ask for it whole.
      discard(r);
      return get(this.url, this.headers, this.http());
    });
    this.url = res.url;
    this.headers = withoutRange(res.sentHeaders);
    const range = res.status === 206 ? contentRange(res) : null;
    const length = header(res.headers, 'content-length');
    const total = range ? range.total : length !== null && /^\d+$/.test(length) ? Number(length) : null;
    const etag = header(res.headers, 'etag');
    const meta: PartialMeta = {
      url: urlFingerprint(this.o.url.href),
      // A weak ETag cannot be used with If-Range; Last-Modified then stands in.
      etag: etag && !etag.startsWith('W/') ? etag : null,
      lastModified: header(res.headers, 'last-modified'),
      total,
      ranges: range !== null && range.total !== null,
      contentType: header(res.headers, 'content-type'),
      suggestedName: dispositionName(header(res.headers, 'content-disposition')),
    };
    if (total !== null && this.o.maxSize !== null && total > this.o.maxSize) {
      release();
      discard(res);
      throw new HttpError(`${showUrl(this.url)} is ${total} bytes, more than max_size ${this.o.maxSize}`, null, false);
    }
    let start: Segment;
    try {
      start = this.onDisk(() => this.lay(meta, total));
    } catch (err) {
      // The slot and the answer go back: a disk error must not keep a connection slot forever.
      release();
      discard(res);
      throw err;
    }
    return this.run({ seg: start, res, release });
  }

  /** Starts the partial file over for `meta` and lays out its ranges; returns the first. */
  private lay(meta: PartialMeta, total: number | null): Segment {
    const s = this.o.settings;
    this.meta = meta;
    this.o.part.reset(meta);
    this.o.hash.reset();
    this.o.stats.total = total;
    // One stream, from the start: without ranges nothing can be resumed or split.
    if (!meta.ranges || total === null) return this.o.part.addSegment(0, total ?? UNKNOWN_END);
    const first = this.o.part.addSegment(0, Math.min(s.minSplit, total));
    // The rest in ranges of a split or more, taken from the front by whichever connection is
    // free: the file fills in order, so it is hashed as it arrives rather than all at the end,
    // and a slow connection holds up at most one range.
    const size = Math.max(s.minSplit, Math.ceil((total - first.end) / MAX_SEGMENTS));
    const ranges: Array<[number, number]> = [];
    for (let a = first.end; a < total; a += size) ranges.push([a, Math.min(total, a + size)]);
    this.queue.push(...this.o.part.addSegments(ranges));
    return first;
  }

  /** Opens a first request with a connection slot, retrying what may pass (network, 5xx, 429). */
  private async retrying(open: () => Promise<Response>): Promise<{ res: Response; release: () => void }> {
    for (let failures = 0; ; ) {
      const release = await this.o.limits.take(this.url.host, this.signal);
      try {
        return { res: await open(), release };
      } catch (err) {
        release();
        if (this.signal.aborted || !(err instanceof HttpError) || !err.retryable || ++failures > this.o.settings.retries) throw err;
        await this.backoff(err, failures);
      }
    }
  }

  private async backoff(e: HttpError, failures: number): Promise<void> {
    // A server asking for more than a minute ends the attempt; the job's own backoff takes over.
    if (e.retryAfterMs !== null && e.retryAfterMs > MAX_RETRY_AFTER_MS) throw e;
    const wait = e.retryAfterMs ?? Math.min(30_000, 500 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
    this.o.log(`${e.message}; retrying in ${Math.round(wait)} ms (${failures}/${this.o.settings.retries})\n`);
    await delay(wait, undefined, { signal: this.signal });
  }

  private http() {
    return { client: this.o.client, signal: this.signal, maxRedirects: this.o.settings.maxRedirects };
  }

  /**
   * A request for the next piece of `seg`, [pos, reqEnd), conditional on the file being the one
   * we started. Pieces, not the whole range: a connection with nothing to do can then take the
   * part of a range nobody has asked for yet, and no byte in flight is thrown away.
   */
  private request(seg: Segment, meta: PartialMeta): Promise<Response> {
    seg.reqEnd = Math.min(seg.end, seg.pos + this.piece);
    const h: Record<string, string> = { ...this.headers, range: `bytes=${seg.pos}-${seg.reqEnd - 1}` };
    const validator = meta.etag ?? meta.lastModified;
    if (validator) h['if-range'] = validator;
    return get(this.url, h, this.http());
  }

  private async run(first: { seg: Segment; res: Response; release: () => void }): Promise<TransferResult> {
    const meta = this.meta as PartialMeta;
    const workers = meta.ranges ? Math.max(1, this.o.connections) : 1;
    const loops = [this.loop(first)];
    for (let i = 1; i < workers; i++) loops.push(this.loop(null));
    await Promise.all(loops);
    if (this.failure) throw this.failure;
    this.o.signal.throwIfAborted();
    const segs = this.o.part.segments;
    if (!meta.ranges && meta.total === null) {
      // The server did not say: the file is what arrived.
      const only = segs[0] as Segment;
      this.o.part.setEnd(only, only.pos);
      return { meta, size: only.pos };
    }
    const size = meta.total as number;
    const done = this.o.part.done();
    if (done !== size) throw new HttpError(`got ${done} of ${size} bytes`, null, true);
    return { meta, size };
  }

  /** One connection: its first range, then queued ones, then halves of the slowest. */
  private async loop(first: { seg: Segment; res: Response; release: () => void } | null): Promise<void> {
    try {
      if (first) await this.runSegment(first.seg, first);
      for (;;) {
        if (this.signal.aborted) return;
        const next = this.queue.shift() ?? this.steal();
        if (!next) return;
        await this.runSegment(next, null);
      }
    } catch (err) {
      if (!this.failure && !this.o.signal.aborted) this.failure = err as Error;
      this.stop.abort();
    }
  }

  /** Half of the range with the most left, if that is at least two splits; never a byte already asked for. */
  private steal(): Segment | null {
    let victim: Segment | null = null;
    const left = (s: Segment) => s.end - s.pos;
    for (const s of this.active) if (!victim || left(s) > left(victim)) victim = s;
    if (!victim || left(victim) < 2 * this.o.settings.minSplit) return null;
    const mid = Math.max(victim.reqEnd ?? victim.pos, victim.pos + Math.floor(left(victim) / 2));
    if (victim.end - mid < this.o.settings.minSplit) return null;
    const end = victim.end;
    this.o.part.setEnd(victim, mid);
    return this.o.part.addSegment(mid, end);
  }

  private async runSegment(seg: Segment, opened: { res: Response; release: () => void } | null): Promise<void> {
    const meta = this.meta as PartialMeta;
    let failures = 0;
    this.active.add(seg);
    this.o.stats.connections = this.active.size;
    try {
      while (seg.pos < seg.end) {
        let release = opened?.release ?? null;
        let res = opened?.res ?? null;
        opened = null;
        // The URL this request goes to: another connection may re-follow the redirect meanwhile.
        const asked = this.url;
        try {
          if (!res) {
            if (!meta.ranges && seg.pos > 0) {
              // No ranges: a broken stream starts over from byte 0.
              this.o.part.reset(meta);
              this.o.hash.reset();
              this.active.delete(seg);
              seg = this.o.part.addSegment(0, meta.total ?? UNKNOWN_END);
              this.active.add(seg);
            }
            release = await this.o.limits.take(this.url.host, this.signal);
            res = meta.ranges ? await this.request(seg, meta) : await get(this.url, this.headers, this.http());
            if (meta.ranges) this.checkRange(res, seg, meta);
          }
          await this.pump(seg, res);
          failures = 0;
        } catch (err) {
          discard(res);
          if (this.signal.aborted) throw err;
          const e = err instanceof HttpError ? err : new HttpError(`${showUrl(this.url)}: ${(err as Error).message}`, null, true);
          if (!e.retryable && e.status !== null && EXPIRED.has(e.status) && asked.href !== this.o.url.href && ++failures <= this.o.settings.retries) {
            // The link we were redirected to expired (signed URLs do): ask the original again.
            if (this.url === asked) {
              this.url = this.o.url;
              this.headers = this.o.headers;
              this.o.log(`${e.message}; following the original URL's redirect again\n`);
            }
            continue;
          }
          if (!e.retryable || ++failures > this.o.settings.retries) throw e;
          await this.backoff(e, failures);
        } finally {
          release?.();
        }
      }
    } finally {
      // An answer handed in for a range with nothing to fetch (an empty file) is still closed.
      if (opened) {
        discard(opened.res);
        opened.release();
      }
      // What arrived stays: a time limit or a stop keeps it for the next attempt.
      this.onDisk(() => this.o.part.flush(seg));
      this.active.delete(seg);
      this.o.stats.connections = this.active.size;
    }
  }

  /**
   * Runs a write of the partial file. Every write goes through here, wherever it happens (a chunk,
   * the end of a piece, a stop): a failure ends the attempt for good (disk full, I/O error), it is
   * not a network error to retry.
   */
  private onDisk<T>(write: () => T): T {
    try {
      return write();
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new HttpError(code === 'ENOSPC' ? `disk full writing ${this.o.part.dataPath}` : `cannot write ${this.o.part.dataPath}: ${(err as Error).message}`, null, false);
    }
  }

  /** A range answer must be 206 for exactly the bytes asked; 200 means the file changed. */
  private checkRange(res: Response, seg: Segment, meta: PartialMeta): void {
    if (answersRange(res, seg.pos, meta)) return;
    const range = contentRange(res);
    discard(res);
    throw new HttpError(`${showUrl(this.url)} changed while it was being downloaded (HTTP ${res.status}${range ? `, ${range.start}-${range.end}/${range.total}` : ''})`, res.status, true);
  }

  private async pump(seg: Segment, res: Response): Promise<void> {
    const limit = this.o.settings.speedLimit;
    const stopAt = Math.min(seg.end, seg.reqEnd ?? seg.end);
    // Each view is only valid during the call: it is written before the next read.
    await res.body.pipe((chunk) => {
      const room = stopAt - seg.pos;
      const buf = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (buf.length > 0) {
        // Once a MiB, the hashing thread hears how far the file is written.
        if (this.onDisk(() => this.o.part.write(seg, buf))) this.o.hash.advance(this.o.part);
        this.o.stats.bytes += buf.length;
        this.sent += buf.length;
        if (this.o.maxSize !== null && seg.pos > this.o.maxSize) throw new HttpError(`more than max_size ${this.o.maxSize} bytes`, null, false);
      }
      if (seg.pos >= stopAt) return 'stop';
      if (limit > 0) {
        const ahead = (this.sent / limit) * 1000 - (Date.now() - this.started);
        if (ahead > 5) return ahead;
      }
      return undefined;
    });
    this.onDisk(() => this.o.part.flush(seg));
    this.o.hash.advance(this.o.part);
    if (seg.pos < stopAt && seg.end !== UNKNOWN_END) throw new HttpError(`${showUrl(this.url)}: the connection ended at byte ${seg.pos} of ${stopAt}`, null, true);
    if (seg.end === UNKNOWN_END) this.o.part.setEnd(seg, seg.pos);
  }
}
