import tls from 'node:tls';
import { Agent, request } from 'undici';
import { describeTlsError } from '../core/tls-errors.js';
import { DroverError } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { describeNetError } from '../core/net.js';

/** An HTTP error answer from the coordinator, with its message. */
export class ApiError extends DroverError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message, status, code);
  }
}

/** No coordinator could be reached at any of the URLs. */
export class UnreachableError extends DroverError {
  constructor(message: string) {
    super(message, 503, 'unreachable');
  }
}

export interface ClientOptions {
  /** One or more base URLs (comma-separated or an array); requests fail over between them. */
  servers: string | string[];
  token?: string;
  /** Connect timeout, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Per-request timeout for non-long-poll requests, ms. Default 60000. */
  requestTimeoutMs?: number;
  /** PEM certificates trusted for https:// servers besides Node's own list (a private CA: `drover tls init`'s ca.crt). */
  ca?: string;
  /** A client certificate and key (PEM) shown to a coordinator with `server.tls.client_ca` (mutual TLS). */
  clientCert?: { cert: string; key: string };
}

/**
 * A small JSON client for the coordinator API over keep-alive connections (undici). On a
 * connection failure it tries the next server URL; HTTP errors are thrown as ApiError.
 */
export class ApiClient {
  readonly servers: string[];
  private current = 0;
  private readonly dispatcher: Agent;
  private readonly token: string | undefined;
  private readonly requestTimeoutMs: number;

  constructor(o: ClientOptions) {
    const list = (Array.isArray(o.servers) ? o.servers : o.servers.split(','))
      .map((s) => s.trim().replace(/\/+$/, ''))
      .filter((s) => s.length > 0);
    if (list.length === 0) throw new DroverError('no server URL given (--server or DROVER_SERVER)', 400, 'invalid');
    for (const s of list) {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        throw new DroverError(`server "${s}" is not a URL (expected e.g. http://HOST:7070)`, 400, 'invalid');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DroverError(`server "${s}": only http and https are supported`, 400, 'invalid');
    }
    this.servers = list;
    this.token = o.token;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 60_000;
    this.dispatcher = new Agent({ connect: { timeout: o.connectTimeoutMs ?? 5_000, ...(o.ca ? { ca: [...tls.rootCertificates, o.ca] } : {}), ...(o.clientCert ?? {}) }, keepAliveTimeout: 60_000, pipelining: 1 });
  }

  /** The server URL requests go to now. */
  get server(): string {
    return this.servers[this.current] as string;
  }

  get<T>(path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    return this.call<T>('GET', path, undefined, opts);
  }

  post<T>(path: string, body: unknown, opts: { timeoutMs?: number; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<T> {
    return this.call<T>('POST', path, body, opts);
  }

  delete<T>(path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    return this.call<T>('DELETE', path, undefined, opts);
  }

  /** `opts.headers`: sent to every server tried (an enqueue's Idempotency-Key goes with each try). */
  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, opts: { timeoutMs?: number; signal?: AbortSignal; headers?: Record<string, string> }): Promise<T> {
    const errors: string[] = [];
    for (let i = 0; i < this.servers.length; i++) {
      const base = this.server;
      let res;
      try {
        res = await request(base + path, {
          method,
          dispatcher: this.dispatcher,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            ...opts.headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          headersTimeout: opts.timeoutMs ?? this.requestTimeoutMs,
          bodyTimeout: opts.timeoutMs ?? this.requestTimeoutMs,
          signal: opts.signal,
        });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const tlsWhy = describeTlsError(err, base);
        // A certificate that does not verify will not on the next try, nor is it another server's fault.
        if (tlsWhy) throw new UnreachableError(`cannot reach the coordinator: ${base}: ${tlsWhy}`);
        errors.push(`${base}: ${timedOut(err) ? `no answer within ${formatDuration(opts.timeoutMs ?? this.requestTimeoutMs)}` : describeNetError(err)}`);
        this.current = (this.current + 1) % this.servers.length;
        continue;
      }
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return (text ? JSON.parse(text) : undefined) as T;
      if (res.statusCode === 502 || res.statusCode === 503 || res.statusCode === 504) {
        errors.push(`${base}: HTTP ${res.statusCode}`);
        this.current = (this.current + 1) % this.servers.length;
        continue;
      }
      let parsed: { error?: { code?: string; message?: string; field?: string } } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the raw text below
      }
      const e = parsed.error;
      throw new ApiError(res.statusCode, e?.code ?? 'http', e?.message ?? `HTTP ${res.statusCode} from ${base}${path}: ${text.slice(0, 200)}`, e?.field);
    }
    throw new UnreachableError(`cannot reach the coordinator: ${errors.join('; ')}`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function timedOut(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}
