import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { describeNetError } from '../core/net.js';
import { encodeHash } from './segment-name.js';

/** A listing or a segment a peer could not give. */
export class PeerError extends Error {}

/** Larger answers to a segment request are refused: a segment is seconds of video. */
const MAX_SEGMENT_BYTES = 256 * 1024 * 1024;
/** Larger listings are refused: an hour of 2 s segments is under 200 KB of names. */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;
/** The longest one request may take, headers and body, ms. */
const DEADLINE_MS = 300_000;
/** Seconds a peer has to answer and to keep a body flowing. */
const TIMEOUT_MS = 10_000;

/**
 * A node with a segment server (Drover's or wubloader's restreamer), reached over keep-alive
 * connections. `url` may carry `user:TOKEN@`, sent as basic auth; it is never shown with it.
 */
export class Peer {
  /** The URL without credentials, for summaries and logs. */
  readonly name: string;
  private readonly origin: string;
  private readonly auth: string | undefined;
  private readonly agent: Agent;

  /** `token`: sent as a bearer token when the URL carries no credentials of its own. */
  constructor(url: string, connections: number, token?: string) {
    const u = new URL(url);
    this.auth = u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : token ? `Bearer ${token}` : undefined;
    u.username = '';
    u.password = '';
    this.origin = u.toString().replace(/\/$/, '');
    this.name = this.origin;
    this.agent = new Agent({ connections, keepAliveTimeout: 30_000, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
  }

  private async get(p: string) {
    try {
      // A whole answer within the deadline: a peer trickling bytes cannot hold a lane for ever.
      return await request(this.origin + p, { dispatcher: this.agent, signal: AbortSignal.timeout(DEADLINE_MS), ...(this.auth ? { headers: { authorization: this.auth } } : {}) });
    } catch (err) {
      throw new PeerError(`${this.name}${p}: ${describeNetError(err)}`);
    }
  }

  /** A JSON listing (`/files/...`): an array of names, or a PeerError. */
  async list(...parts: string[]): Promise<string[]> {
    const p = `/files/${parts.map(encodeURIComponent).join('/')}${parts.length === 3 ? '?tombstones=true' : ''}`.replace(/\/$/, '');
    const res = await this.get(p);
    const text = (await this.readCapped(res.body, MAX_LISTING_BYTES, p)).toString('utf8');
    if (res.statusCode !== 200) throw new PeerError(`${this.name}${p}: HTTP ${res.statusCode}${text ? ` ${text.slice(0, 100)}` : ''}`);
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
   * A segment's bytes and their hash. Held in memory (a segment is seconds of video), so that a
   * copy whose hash is wrong never reaches the disk, and a good one is written in one call.
   */
  async fetch(parts: [string, string, string, string]): Promise<{ data: Buffer; hash: string }> {
    const p = `/segments/${parts.map(encodeURIComponent).join('/')}`;
    const res = await this.get(p);
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new PeerError(`${this.name}${p}: HTTP ${res.statusCode}`);
    }
    const length = Number(res.headers['content-length']);
    if (length > MAX_SEGMENT_BYTES) {
      await res.body.dump().catch(() => undefined);
      throw new PeerError(`${this.name}${p}: ${length} bytes, more than a segment may have (${MAX_SEGMENT_BYTES})`);
    }
    const data = await this.readCapped(res.body, MAX_SEGMENT_BYTES, p);
    if (Number.isFinite(length) && data.length !== length) throw new PeerError(`${this.name}${p}: ${data.length} of ${length} bytes`);
    return { data, hash: encodeHash(createHash('sha256').update(data).digest()) };
  }

  /** A body whole, or a PeerError when it is larger than `max` (a peer that sends no length and never stops). */
  private async readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, max: number, p: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const chunk of body) {
        n += chunk.length;
        if (n > max) {
          body.destroy();
          throw new PeerError(`${this.name}${p}: more than ${max} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      throw err instanceof PeerError ? err : new PeerError(`${this.name}${p}: ${describeNetError(err)}`);
    }
    return Buffer.concat(chunks, n);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
