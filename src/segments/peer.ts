import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { describeNetError } from '../core/net.js';
import { BATCH_HEADER, BATCH_MAX, FrameDecoder, type FrameSink } from './batch.js';

/** A listing or a segment a peer could not give. */
export class PeerError extends Error {
  /** False for an answer another try will not change (401, 403, 404, 400...): no backoff, the peer is left. */
  readonly retryable: boolean;

  constructor(message: string, status?: number) {
    super(message);
    this.retryable = status === undefined || status >= 500 || status === 408 || status === 429;
  }
}

/** Larger answers to a segment request are refused: a segment is seconds of video. */
const MAX_SEGMENT_BYTES = 256 * 1024 * 1024;
/** Larger listings are refused: an hour of 2 s segments is under 200 KB of names. */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;
/** The longest one request's body may take (a batch's: each segment in it), ms; a silent peer is cut off after TIMEOUT_MS. */
const DEADLINE_MS = 300_000;
/** How long a peer may stay silent, before its answer and within it, ms. */
const TIMEOUT_MS = 10_000;

/** An answer whose body is read by the caller. */
type Answer = http.IncomingMessage;

/**
 * A node with a segment server (Drover's or wubloader's restreamer), reached over keep-alive
 * connections (Node's own HTTP client: a mirror pass is mostly listings and small bodies, and
 * it starts faster than undici). `url` may carry `user:TOKEN@`, sent as basic auth; it is never
 * shown with it.
 */
export class Peer {
  /** The URL without credentials, for summaries and logs. */
  readonly name: string;
  /** Names one batch may ask this peer for (X-Drover-Batch on its hour listings); 1: plain GETs. */
  batchMax = 1;
  private readonly origin: string;
  private readonly auth: string | undefined;
  private readonly agent: http.Agent;
  private readonly client: typeof http | typeof https;

  /** `token`: sent as a bearer token when the URL carries no credentials of its own; `ca`: PEM trusted for https besides Node's. */
  constructor(url: string, connections: number, token?: string, ca?: string) {
    const u = new URL(url);
    this.auth = u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : token ? `Bearer ${token}` : undefined;
    u.username = '';
    u.password = '';
    this.origin = u.toString().replace(/\/$/, '');
    this.name = this.origin;
    this.client = u.protocol === 'https:' ? https : http;
    this.agent = new this.client.Agent({ keepAlive: true, maxSockets: connections, timeout: 30_000, ...(ca && u.protocol === 'https:' ? { ca: [...tls.rootCertificates, ca] } : {}) });
  }

  private send(p: string, body?: string): Promise<Answer> {
    const headers: http.OutgoingHttpHeaders = {};
    if (this.auth) headers.authorization = this.auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = this.client.request(this.origin + p, { agent: this.agent, method: body === undefined ? 'GET' : 'POST', headers, timeout: TIMEOUT_MS }, (res) => {
        // From here on the body's reader sees a silence as an error of the answer.
        req.on('timeout', () => res.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
        resolve(res);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(new PeerError(`${this.name}${p}: ${describeNetError(err)}`)));
      req.end(body);
    });
  }

  /** A JSON listing (`/files/...`): an array of names, or a PeerError. */
  async list(...parts: string[]): Promise<string[]> {
    const p = `/files/${parts.map(encodeURIComponent).join('/')}${parts.length === 3 ? '?tombstones=true' : ''}`.replace(/\/$/, '');
    const res = await this.send(p);
    const text = (await this.readCapped(res, MAX_LISTING_BYTES, p)).toString('utf8');
    const batch = Number(res.headers[BATCH_HEADER]);
    if (parts.length === 3 && res.statusCode === 200) this.batchMax = Number.isInteger(batch) && batch > 1 ? Math.min(batch, BATCH_MAX) : 1;
    if (res.statusCode !== 200) throw new PeerError(`${this.name}${p}: HTTP ${res.statusCode}${text ? ` ${text.slice(0, 100)}` : ''}`, res.statusCode);
    let names: unknown;
    try {
      names = JSON.parse(text);
    } catch {
      throw new PeerError(`${this.name}${p}: not a JSON listing`);
    }
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new PeerError(`${this.name}${p}: not a JSON array of names`);
    return names;
  }

  /**
   * A segment's bytes, or null when the peer does not serve it (404). Held in memory (a segment
   * is seconds of video), so that a copy whose hash is wrong never reaches the disk, and a good
   * one is written in one call.
   */
  async fetch(parts: [string, string, string, string]): Promise<Buffer | null> {
    const p = `/segments/${parts.map(encodeURIComponent).join('/')}`;
    const res = await this.send(p);
    if (res.statusCode !== 200) {
      res.resume();
      if (res.statusCode === 404) return null;
      throw new PeerError(`${this.name}${p}: HTTP ${res.statusCode}`, res.statusCode);
    }
    const length = Number(res.headers['content-length']);
    if (length > MAX_SEGMENT_BYTES) {
      res.destroy();
      throw new PeerError(`${this.name}${p}: ${length} bytes, more than a segment may have (${MAX_SEGMENT_BYTES})`);
    }
    const data = await this.readCapped(res, MAX_SEGMENT_BYTES, p);
    if (Number.isFinite(length) && data.length !== length) throw new PeerError(`${this.name}${p}: ${data.length} of ${length} bytes`);
    return data;
  }

  /**
   * Segments of one hour in one request (batch.ts), handed to `sink` one by one as they arrive;
   * a PeerError when the answer breaks off or is not what was asked (those handed over stay so).
   */
  async fetchBatch(hour: [string, string, string], names: readonly string[], sink: FrameSink): Promise<void> {
    const p = `/segments/${hour.map(encodeURIComponent).join('/')}`;
    const res = await this.send(p, JSON.stringify(names));
    if (res.statusCode !== 200) {
      const text = (await this.readCapped(res, MAX_LISTING_BYTES, p).catch(() => Buffer.alloc(0))).toString('utf8');
      throw new PeerError(`${this.name}${p} (a batch of ${names.length}): HTTP ${res.statusCode}${text ? ` ${text.slice(0, 100)}` : ''}`, res.statusCode);
    }
    const frames = new FrameDecoder(names, MAX_SEGMENT_BYTES, sink);
    let since = performance.now();
    try {
      await eachChunk(res, (chunk) => {
        const before = frames.answered;
        frames.push(chunk);
        const now = performance.now();
        if (frames.answered > before) since = now;
        else if (now - since > DEADLINE_MS) throw new Error(`no segment within ${DEADLINE_MS / 1000} s`);
      });
      frames.end();
    } catch (err) {
      res.destroy();
      throw err instanceof PeerError ? err : new PeerError(`${this.name}${p} (a batch, ${frames.answered} of ${names.length} in): ${describeNetError(err)}`);
    }
  }

  /**
   * A body whole, or a PeerError when it is larger than `max` (a peer that sends no length and
   * never stops) or takes longer than the deadline (a peer trickling bytes cannot hold a lane).
   */
  private async readCapped(res: Answer, max: number, p: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    const t0 = performance.now();
    try {
      await eachChunk(res, (chunk) => {
        n += chunk.length;
        if (n > max) throw new PeerError(`${this.name}${p}: more than ${max} bytes`);
        if (performance.now() - t0 > DEADLINE_MS) throw new PeerError(`${this.name}${p}: not whole within ${DEADLINE_MS / 1000} s`);
        chunks.push(chunk);
      });
    } catch (err) {
      res.destroy();
      throw err instanceof PeerError ? err : new PeerError(`${this.name}${p}: ${describeNetError(err)}`);
    }
    return Buffer.concat(chunks, n);
  }

  /** Closes its connections, failing requests still in flight. */
  destroy(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }
}

/**
 * Calls `take` with each chunk of a body as it arrives (no copies into a stream's buffer);
 * rejects with what `take` threw, the connection's error, or when the body breaks off.
 */
function eachChunk(res: Answer, take: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => {
      res.removeAllListeners('data');
      reject(err);
    };
    res.on('data', (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (err) {
        fail(err);
        res.destroy();
      }
    });
    res.on('error', fail);
    res.on('aborted', () => fail(Object.assign(new Error('the answer broke off'), { code: 'ECONNRESET' })));
    res.on('end', () => (res.complete ? resolve() : fail(Object.assign(new Error('the answer broke off'), { code: 'ECONNRESET' }))));
  });
}
