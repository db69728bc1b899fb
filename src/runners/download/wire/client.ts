import net from 'node:net';
import tls from 'node:tls';
import { Exchange, type ExchangeHost } from './exchange.js';
import { proxyFor } from './proxy-env.js';
import type { HostGuard } from '../../../core/host-guard.js';

export type { BodyAction, BodySink } from './exchange.js';
export type { Exchange as WireResponse } from './exchange.js';

export interface WireOptions {
  /** Time to open a connection (TCP, TLS and a proxy's CONNECT), ms. */
  connectTimeoutMs: number;
  /** Longest wait for the next byte of an answer, ms. */
  readTimeoutMs: number;
  /** An unused keep-alive connection is closed after this long, ms. Default 30 s. */
  keepAliveMs?: number;
  /** PEM certificates trusted for HTTPS besides Node's own list. */
  ca?: string | null;
  /** Where proxy settings are read (HTTP(S)_PROXY, NO_PROXY). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Sent unless the request has its own. */
  userAgent?: string;
  /** The hosts jobs may reach (`worker.allow_hosts` / `deny_hosts`); checked at each new connection. */
  hosts?: HostGuard;
}

/**
 * Bytes read from the socket at once. Node reads a connection into one reused buffer (`onread`),
 * so a gigabyte costs no allocations and no garbage; 256 KiB keeps the system calls few.
 */
const RECV_BYTES = 256 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A small HTTP/1.1 client for downloads: GET only, keep-alive connections per origin, HTTPS,
 * HTTP(S)_PROXY and NO_PROXY (CONNECT for https), connect and read timeouts. Body bytes go from
 * the socket's buffer to the caller without a copy, which a general client (undici) cannot do:
 * measured on loopback, undici spends 1.6-1.9 s of CPU per GiB received and this 0.2-0.4 s.
 */
export class WireClient {
  private readonly idle = new Map<string, Connection[]>();
  private readonly keepAliveMs: number;
  private readonly ca: string[] | undefined;

  constructor(private readonly o: WireOptions) {
    this.keepAliveMs = o.keepAliveMs ?? 30_000;
    this.ca = o.ca ? [...tls.rootCertificates, o.ca] : undefined;
  }

  /** Sends a GET; resolves with the answer once its status line and headers are in. */
  async get(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<Exchange> {
    signal.throwIfAborted();
    let proxy: URL | null;
    let head: string;
    try {
      proxy = proxyFor(url, this.o.env);
      head = this.requestHead(url, headers, proxy);
    } catch (err) {
      // A bad proxy setting or header will be just as bad on the next try.
      throw Object.assign(err as Error, { code: 'EBADREQUEST' });
    }
    const key = proxy ? `${proxy.href} ${url.origin}` : url.origin;
    for (;;) {
      const reused = this.takeIdle(key);
      const conn = reused ?? (await this.connect(key, url, proxy, signal));
      const ex = conn.send(head, signal);
      try {
        const res = await ex.head();
        // A server that timed the idle connection out may say so (408) just as we ask again.
        if (reused && res.status === 408) {
          res.discard();
          continue;
        }
        return res;
      } catch (err) {
        // A kept-alive connection the server had closed meanwhile: once more on a new one.
        if (reused && !ex.answered && !signal.aborted) continue;
        throw err;
      }
    }
  }

  /** Closes every idle connection. */
  close(): void {
    for (const list of this.idle.values()) for (const c of list) c.destroy();
    this.idle.clear();
  }

  /** @internal a connection whose answer is over and may carry another request. */
  release(conn: Connection): void {
    const list = this.idle.get(conn.key) ?? [];
    list.push(conn);
    this.idle.set(conn.key, list);
    conn.idleFor(this.keepAliveMs);
  }

  /** @internal */
  forget(conn: Connection): void {
    const list = this.idle.get(conn.key);
    const i = list?.indexOf(conn) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  private takeIdle(key: string): Connection | null {
    const list = this.idle.get(key);
    for (let c = list?.pop(); c; c = list?.pop()) if (c.usable()) return c;
    return null;
  }

  private requestHead(url: URL, headers: Record<string, string>, proxy: URL | null): string {
    // Through a proxy, a plain-http request names the whole URL (without user and password).
    const target = proxy && url.protocol === 'http:' ? `http://${url.host}${url.pathname}${url.search}` : `${url.pathname}${url.search}`;
    const lines = [`GET ${target} HTTP/1.1`, `host: ${url.host}`];
    let agent = false;
    for (const [name, value] of Object.entries(headers)) {
      if (!TOKEN.test(name)) throw new Error(`header name ${JSON.stringify(name)} is not valid`);
      if (/[\r\n\0]/.test(value)) throw new Error(`header ${name} has a line break or NUL in its value`);
      const lower = name.toLowerCase();
      if (lower === 'host' || lower === 'connection' || lower === 'content-length' || lower === 'transfer-encoding') continue;
      if (lower === 'user-agent') agent = true;
      lines.push(`${name}: ${value}`);
    }
    if (!agent && this.o.userAgent) lines.push(`user-agent: ${this.o.userAgent}`);
    if (proxy && url.protocol === 'http:' && (proxy.username || proxy.password)) lines.push(`proxy-authorization: ${basic(proxy)}`);
    return `${lines.join('\r\n')}\r\n\r\n`;
  }

  private async connect(key: string, url: URL, proxy: URL | null, signal: AbortSignal): Promise<Connection> {
    const conn = new Connection(key, this, this.o.readTimeoutMs);
    const deadline = setTimeout(() => conn.destroy(Object.assign(new Error(`connect timed out after ${this.o.connectTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' })), this.o.connectTimeoutMs);
    const onAbort = () => conn.destroy(abortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // `host` is what the certificate is checked against; through a tunnel it would otherwise
      // be the proxy's name.
      const tlsOpts = (host: string) => ({ host, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...(this.ca ? { ca: this.ca } : {}) });
      const target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
      const hosts = this.o.hosts && !this.o.hosts.off ? this.o.hosts : null;
      // An address is checked here; a name as it resolves for the connection itself (no second
      // lookup to differ from the first); through a proxy, which resolves it, as it resolves here.
      if (hosts && (proxy || net.isIP(target.host))) await hosts.check(target.host);
      if (!proxy) {
        const guarded = hosts && !net.isIP(target.host) ? { ...target, lookup: hosts.lookup.bind(hosts) as net.LookupFunction } : target;
        await conn.open(url.protocol === 'https:' ? { tls: { ...guarded, ...tlsOpts(target.host) } } : { tcp: guarded });
      } else {
        const p = { host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)) };
        const via = proxy.protocol === 'https:' ? { tls: { ...p, ...tlsOpts(p.host) } } : { tcp: p };
        if (url.protocol === 'http:') await conn.open(via);
        else await conn.tunnel(via, target, proxy, tlsOpts(target.host));
      }
      return conn;
    } catch (err) {
      conn.destroy();
      throw err;
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

type Endpoint = { host: string; port: number; lookup?: net.LookupFunction };
type Via = { tcp: Endpoint } | { tls: Endpoint & tls.ConnectionOptions };

/** One socket and the exchange running on it. */
class Connection implements ExchangeHost {
  private socket: net.Socket | null = null;
  private current: Exchange | null = null;
  private error: Error | null = null;
  private closed = false;
  private pauseTimer: NodeJS.Timeout | null = null;
  private readonly recv = Buffer.allocUnsafe(RECV_BYTES);

  constructor(
    readonly key: string,
    private readonly client: WireClient,
    private readonly readTimeoutMs: number,
  ) {}

  /** Connects straight to `via`, reading into the connection's own buffer. */
  open(via: Via): Promise<void> {
    const onread = { buffer: this.recv, callback: (n: number, buf: Uint8Array) => this.onBytes((buf as Buffer).subarray(0, n)) };
    // Node's TLS sockets take `onread` as net sockets do (tested); its types do not say so.
    const s = 'tls' in via ? tls.connect({ ...via.tls, onread } as tls.ConnectionOptions) : net.connect({ ...via.tcp, onread });
    return this.adopt(s, 'tls' in via ? 'secureConnect' : 'connect');
  }

  /** Connects through a proxy's CONNECT tunnel, then TLS inside it. */
  async tunnel(via: Via, target: Endpoint, proxy: URL, tlsOpts: tls.ConnectionOptions): Promise<void> {
    const raw = 'tls' in via ? tls.connect(via.tls) : net.connect(via.tcp);
    this.socket = raw;
    raw.on('error', (e) => (this.error ??= e));
    await new Promise<void>((resolve, reject) => {
      raw.once('close', () => reject(this.error ?? new Error(`the proxy ${proxy.host} closed the connection`)));
      raw.once('tls' in via ? 'secureConnect' : 'connect', () => resolve());
    });
    const hostPort = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    const auth = proxy.username || proxy.password ? `proxy-authorization: ${basic(proxy)}\r\n` : '';
    raw.write(`CONNECT ${hostPort} HTTP/1.1\r\nhost: ${hostPort}\r\n${auth}\r\n`);
    await new Promise<void>((resolve, reject) => {
      let got = '';
      const onData = (d: Buffer) => {
        got += d.toString('latin1');
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return got.length > 16_384 ? reject(Object.assign(new Error('the proxy answered CONNECT with too much'), { code: 'EPROXY' })) : undefined;
        raw.off('data', onData);
        raw.pause();
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1];
        if (status?.startsWith('2') && end + 4 === got.length) return resolve();
        const code = status === '407' ? 'EPROXYAUTH' : 'EPROXY';
        reject(Object.assign(new Error(`the proxy ${proxy.host} refused the tunnel to ${hostPort}: ${got.split('\r\n')[0]}`), { code }));
      };
      raw.on('data', onData);
      raw.once('close', () => reject(this.error ?? new Error(`the proxy ${proxy.host} closed the connection`)));
    });
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    // The TLS socket reports the tunnel's failures from now on; this only keeps a late error on
    // the raw socket from going unheard (which would end the process).
    raw.on('error', () => undefined);
    // Node cannot read a TLS socket layered on another into a buffer of ours: 'data' events here.
    const s = tls.connect({ ...tlsOpts, socket: raw });
    s.on('data', (d: Buffer) => {
      if (!this.onBytes(d)) s.pause();
    });
    return this.adopt(s, 'secureConnect');
  }

  send(head: string, signal: AbortSignal): Exchange {
    const s = this.socket as net.Socket;
    const onAbort = () => this.destroy(abortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    // The listener goes with the exchange: the connection may serve another job's requests next.
    const ex = new Exchange(this, () => signal.removeEventListener('abort', onAbort));
    this.current = ex;
    s.ref();
    s.setTimeout(this.readTimeoutMs);
    s.write(head);
    // The last answer on this connection may have stopped reading when it ended.
    s.resume();
    return ex;
  }

  usable(): boolean {
    return !this.closed && this.socket !== null && !this.socket.destroyed;
  }

  idleFor(ms: number): void {
    const s = this.socket as net.Socket;
    s.setTimeout(ms);
    s.unref();
    // An idle connection still reads: a server closing it, or talking out of turn (a 408 before
    // it hangs up), is noticed now, not taken for the answer to the next request. Deferred: the
    // read callback that ended the last answer stops reading when it returns.
    setImmediate(() => {
      if (!this.current && this.usable()) s.resume();
    });
  }

  resumeReading(): void {
    this.socket?.resume();
  }

  pauseFor(ms: number): void {
    const s = this.socket as net.Socket;
    s.setTimeout(0);
    // TLS may deliver a read or two after reading stopped: one pause at a time.
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      s.setTimeout(this.readTimeoutMs);
      s.resume();
    }, ms);
  }

  finished(reusable: boolean): void {
    this.current = null;
    if (reusable && this.usable()) this.client.release(this);
    else this.destroy();
  }

  destroy(err?: Error): void {
    if (err) this.error ??= err;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    if (this.socket) this.socket.destroy();
    else this.onClose();
  }

  private adopt(s: net.Socket, ready: 'connect' | 'secureConnect'): Promise<void> {
    this.socket = s;
    s.on('error', (e) => (this.error ??= e));
    s.on('timeout', () => this.destroy(Object.assign(new Error(this.current ? `no data for ${this.readTimeoutMs / 1000} s` : 'idle'), { code: 'ETIMEDOUT' })));
    s.on('close', () => this.onClose());
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.error ?? new Error('connection closed'));
      s.once(ready, () => resolve());
      s.once('close', () => reject(this.error ?? new Error('the connection closed while it opened')));
    });
  }

  private onBytes(data: Buffer): boolean {
    if (!this.current) {
      // Nothing was asked: a server talking out of turn.
      this.destroy();
      return false;
    }
    return this.current.onBytes(data);
  }

  private onClose(): void {
    this.closed = true;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.client.forget(this);
    this.current?.onClose(this.error);
    this.current = null;
  }
}

function basic(u: URL): string {
  return `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
}

/** An abort's reason as an Error (a stop's reason is a word such as 'timed_out'). */
function abortError(reason: unknown): Error {
  return reason instanceof Error ? reason : Object.assign(new Error(`aborted (${String(reason)})`), { name: 'AbortError' });
}
