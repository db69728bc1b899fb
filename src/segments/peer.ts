import { createHash, randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';
import { describeNetError } from '../core/net.js';
import { encodeHash } from './segment-name.js';

/** A listing or a segment a peer could not give. */
export class PeerError extends Error {}

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
      return await request(this.origin + p, { dispatcher: this.agent, ...(this.auth ? { headers: { authorization: this.auth } } : {}) });
    } catch (err) {
      throw new PeerError(`${this.name}${p}: ${describeNetError(err)}`);
    }
  }

  /** A JSON listing (`/files/...`): an array of names, or a PeerError. */
  async list(...parts: string[]): Promise<string[]> {
    const p = `/files/${parts.map(encodeURIComponent).join('/')}${parts.length === 3 ? '?tombstones=true' : ''}`.replace(/\/$/, '');
    const res = await this.get(p);
    const text = await res.body.text().catch((err: unknown) => {
      throw new PeerError(`${this.name}${p}: ${describeNetError(err)}`);
    });
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
   * Fetches a segment into a temp file beside `target` (`TIME-DURATION-temp-UUID.ts`) while hashing
   * it; returns the temp file, its size and its hash. The temp file is gone when this throws.
   */
  async fetch(parts: [string, string, string, string], target: string): Promise<{ temp: string; bytes: number; hash: string }> {
    const [time, duration] = (parts[3] as string).split('-');
    const temp = path.join(path.dirname(target), `${time}-${duration}-temp-${randomUUID()}.ts`);
    const p = `/segments/${parts.map(encodeURIComponent).join('/')}`;
    const res = await this.get(p);
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new PeerError(`${this.name}${p}: HTTP ${res.statusCode}`);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    // Opened first, so that the file exists to be removed whenever the body fails.
    const file = await fsp.open(temp, 'wx');
    try {
      await pipeline(res.body, tap, file.createWriteStream());
    } catch (err) {
      await file.close().catch(() => undefined);
      await fsp.rm(temp, { force: true });
      throw new PeerError(`${this.name}${p}: ${describeNetError(err)}`);
    }
    return { temp, bytes, hash: encodeHash(hash.digest()) };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
