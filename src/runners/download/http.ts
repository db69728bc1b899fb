import { describeNetError } from '../../core/net.js';
import { redactUrlSecrets } from '../../core/redact-url.js';
import type { DownloadSettings } from './settings.js';
import { WireClient, type WireResponse } from './wire/client.js';

/** A failed request. `retryable`: another try may work (network, 5xx, 429); else it never will (404...). */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** TLS verification failures (Node's codes): permanent. */
const BAD_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** The proxy wants credentials we do not have: permanent too. */
const PROXY_AUTH = 'EPROXYAUTH';

/** Statuses that will not change on another try. */
const PERMANENT = new Set([400, 401, 403, 404, 405, 410, 451]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);
/** Request headers that may follow a redirect to another origin. */
const PUBLIC_HEADERS = new Set(['user-agent', 'range', 'if-range', 'accept', 'accept-encoding']);

/** One client per worker; it honours HTTP(S)_PROXY and NO_PROXY when they are set. */
export function makeClient(s: DownloadSettings): WireClient {
  return new WireClient({ connectTimeoutMs: s.connectTimeoutMs, readTimeoutMs: s.readTimeoutMs, ca: s.ca, userAgent: 'drover', hosts: s.hosts });
}

/**
 * The URL for messages and results: without user or password, and with credential-looking query
 * params hidden (`?token=***`, `sig=***`, as redactUrlSecrets has them). Also a signed URL a
 * redirect led to, which is in no param the agent could redact.
 */
export function showUrl(u: URL): string {
  if (!u.username && !u.password) return redactUrlSecrets(u.href);
  const c = new URL(u.href);
  c.username = '';
  c.password = '';
  return redactUrlSecrets(c.href);
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body, read with `body.pipe(sink)`. */
  body: WireResponse;
  /** Where it came from after redirects. */
  url: URL;
  /** The headers that went there: credentials are dropped on the way to another origin. */
  sentHeaders: Record<string, string>;
}

/**
 * GET with redirects followed (at most `maxRedirects`, loops refused, http and https only).
 * Credentials in headers are not sent on to another origin. Answers 200, 206 and 416; anything
 * else throws HttpError.
 */
export async function get(url: URL, headers: Record<string, string>, o: { client: WireClient; signal: AbortSignal; maxRedirects: number }): Promise<Response> {
  const seen = new Set<string>();
  let hdrs = headers;
  for (let hops = 0; ; hops++) {
    let res: WireResponse;
    try {
      res = await o.client.get(url, hdrs, o.signal);
    } catch (err) {
      if (o.signal.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      // A certificate that does not verify now will not on the next try either.
      if (BAD_CERT.has(code)) throw new HttpError(`${showUrl(url)}: ${(err as Error).message} (a private CA can be trusted with worker.download.ca_file)`, null, false);
      if (code === 'EBADREQUEST') throw new HttpError(`${showUrl(url)}: ${(err as Error).message}`, null, false);
      if (code === 'EHOSTDENIED') throw new HttpError(`${showUrl(url)}: ${(err as Error).message}`, null, false);
      if (code === PROXY_AUTH) throw new HttpError(`${showUrl(url)}: ${(err as Error).message} (give the proxy's user and password in its URL)`, null, false);
      throw new HttpError(`${showUrl(url)}: ${describeNetError(err)}`, null, true);
    }
    const status = res.status;
    if (status === 200 || status === 206 || status === 416) return { status, headers: res.headers, body: res, url, sentHeaders: hdrs };
    await drain(res);
    if (REDIRECT.has(status)) {
      const loc = header(res.headers, 'location');
      if (!loc) throw new HttpError(`${showUrl(url)}: HTTP ${status} without a Location`, status, false);
      seen.add(url.href);
      let next: URL;
      try {
        next = new URL(loc, url);
      } catch {
        // Not echoed: a server's bad Location may still carry a token.
        throw new HttpError(`${showUrl(url)}: HTTP ${status} redirects to an invalid URL`, status, false);
      }
      // The client speaks HTTP to whatever host and port it is given: an ftp://, gopher:// or
      // file:// Location would get an HTTP request, so it ends the job instead.
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new HttpError(`${showUrl(url)}: HTTP ${status} redirects to a ${next.protocol.slice(0, -1)} URL; only http and https redirects are followed`, status, false);
      }
      if (seen.has(next.href)) throw new HttpError(`redirect loop: ${showUrl(next)} was already visited`, status, false);
      if (hops + 1 > o.maxRedirects) throw new HttpError(`too many redirects (more than ${o.maxRedirects}) from ${showUrl(url)}`, status, false);
      // Another origin gets none of the job's headers (credentials, cookies, API keys), only
      // what every request carries.
      if (next.origin !== url.origin) hdrs = Object.fromEntries(Object.entries(hdrs).filter(([k]) => PUBLIC_HEADERS.has(k)));
      url = next;
      continue;
    }
    const what = `${showUrl(url)}: HTTP ${status}`;
    if (PERMANENT.has(status)) throw new HttpError(what, status, false);
    if (status === 429 || status === 408 || status >= 500) throw new HttpError(what, status, true, retryAfterMs(header(res.headers, 'retry-after')));
    throw new HttpError(what, status, false);
  }
}

/** Drops an answer whose body will not be read (its connection is closed unless the body is over). */
export function discard(res: { body: WireResponse } | null | undefined): void {
  res?.body.discard();
}

/** Bytes of an error page or redirect read to keep the connection, at most; longer ones close it. */
const DRAIN_BYTES = 64 * 1024;

/** Reads a short body to its end, so the connection can carry the next request. */
async function drain(res: WireResponse): Promise<void> {
  let n = 0;
  await res.pipe((view) => ((n += view.length) > DRAIN_BYTES ? 'stop' : undefined)).catch(() => undefined);
}

export function header(h: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = h[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

/** Retry-After as seconds or an HTTP date, in ms; null when absent or unreadable. */
export function retryAfterMs(v: string | null, now = Date.now()): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

/** `bytes a-b/total` → its parts; null when it is not one. */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** The file name of a Content-Disposition header (filename* preferred), unsanitised. */
export function dispositionName(v: string | null): string | null {
  if (!v) return null;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(v);
  if (star) {
    try {
      return decodeURIComponent(star[2]!.trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(v);
  return plain ? (plain[2] ?? plain[1]!).trim() : null;
}
