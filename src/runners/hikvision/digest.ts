import { createHash, randomBytes } from 'node:crypto';

/**
 * HTTP digest authentication (RFC 7616, and RFC 2617 as Hikvision devices speak it), the client
 * side: MD5, MD5-sess, SHA-256 and SHA-256-sess; qop=auth, or none from old devices; nonce
 * counts; a `stale=true` challenge takes the new nonce without counting as a wrong password.
 */

/** A parsed `WWW-Authenticate: Digest ...` challenge. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** As the server names it (MD5 when it names none). */
  algorithm: string;
  /** The qop options offered, lower case; empty when none (RFC 2069 devices). */
  qop: string[];
  stale: boolean;
}

const HASHES: Record<string, 'md5' | 'sha256'> = { MD5: 'md5', 'MD5-SESS': 'md5', 'SHA-256': 'sha256', 'SHA-256-SESS': 'sha256' };

/**
 * The auth-params of one challenge: `key=token` or `key="quoted, with \"escapes\""`, separated
 * by commas (which may also sit inside quotes, as in `qop="auth,auth-int"`). Keys lower case.
 */
export function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/y;
  let at = 0;
  while (at < text.length) {
    // Stray commas and spaces between params (some firmware sends ", ," or a trailing comma).
    const skip = /[\s,]*/y;
    skip.lastIndex = at;
    skip.exec(text);
    at = skip.lastIndex;
    if (at >= text.length) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) break;
    params.set((m[1] as string).toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
    at = re.lastIndex;
  }
  return params;
}

/**
 * The digest challenge among a 401's `WWW-Authenticate` headers (devices often send Basic too,
 * as a header of its own), or null when there is none a client can answer.
 */
export function digestChallenge(headers: readonly string[]): DigestChallenge | null {
  for (const h of headers) {
    const m = /^\s*Digest\s+/i.exec(h);
    if (!m) continue;
    const p = parseAuthParams(h.slice(m[0].length));
    const realm = p.get('realm');
    const nonce = p.get('nonce');
    const algorithm = (p.get('algorithm') || 'MD5').toUpperCase();
    if (realm === undefined || !nonce || !(algorithm in HASHES)) continue;
    const opaque = p.get('opaque');
    return {
      realm,
      nonce,
      ...(opaque !== undefined ? { opaque } : {}),
      algorithm,
      qop: (p.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean),
      stale: (p.get('stale') ?? '').toLowerCase() === 'true',
    };
  }
  return null;
}

function hash(algorithm: string, text: string): string {
  return createHash(HASHES[algorithm] ?? 'md5').update(text, 'utf8').digest('hex');
}

/** What a response is computed from. */
export interface DigestInput {
  algorithm: string;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  /** 'auth', or null for a challenge without qop. */
  qop: 'auth' | null;
  /** Eight hex digits. */
  nc: string;
  cnonce: string;
}

/** The `response` value (RFC 7616 §3.4.1); the server side computes the same to check it. */
export function digestResponse(i: DigestInput): string {
  let ha1 = hash(i.algorithm, `${i.username}:${i.realm}:${i.password}`);
  if (i.algorithm.endsWith('-SESS')) ha1 = hash(i.algorithm, `${ha1}:${i.nonce}:${i.cnonce}`);
  const ha2 = hash(i.algorithm, `${i.method}:${i.uri}`);
  return hash(i.algorithm, i.qop ? `${ha1}:${i.nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}` : `${ha1}:${i.nonce}:${ha2}`);
}

const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/**
 * One device's digest state: the last challenge and its nonce count. `authorization` answers it
 * for each request; `challenged` takes a 401's headers and says whether to try again.
 */
export class DigestSession {
  private challenge: DigestChallenge | null = null;
  private nc = 0;
  private sessionCnonce: string | null = null;

  constructor(
    private readonly username: string,
    private readonly password: string,
    /** Tests fix it; otherwise 16 random bytes, hex. */
    private readonly cnonce: () => string = () => randomBytes(16).toString('hex'),
  ) {}

  /** The Authorization header for a request and the nonce it answers, or null before the first challenge. */
  authorization(method: string, uri: string): { header: string; nonce: string } | null {
    const c = this.challenge;
    if (!c) return null;
    const qop = c.qop.length === 0 ? null : 'auth';
    const nc = (++this.nc).toString(16).padStart(8, '0');
    // -sess: the session key is H(H(user:realm:pass):nonce:cnonce), made once per nonce (RFC 2617 3.2.2.2).
    const cnonce = c.algorithm.endsWith('-SESS') ? (this.sessionCnonce ??= this.cnonce()) : this.cnonce();
    const response = digestResponse({ algorithm: c.algorithm, username: this.username, password: this.password, realm: c.realm, nonce: c.nonce, method, uri, qop, nc, cnonce });
    const parts = [`username=${quote(this.username)}`, `realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`, `uri=${quote(uri)}`, `algorithm=${c.algorithm}`, `response=${quote(response)}`];
    if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
    if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    return { header: `Digest ${parts.join(', ')}`, nonce: c.nonce };
  }

  /**
   * A 401 arrived for a request signed with `sentNonce` (null: sent without credentials).
   * 'retry' when the request should go again with a fresh Authorization: the first challenge, a
   * stale nonce, or a nonce other than the one it was signed with (some devices rotate it
   * without saying stale, and another request of ours may have taken the new one already; the
   * caller tries each request a bounded number of times). 'refused' when the very nonce it was
   * signed with is challenged again without stale (a wrong user or password), or when the
   * device offers no digest challenge at all. The count restarts only with a new nonce.
   */
  challenged(wwwAuthenticate: readonly string[], sentNonce: string | null): 'retry' | 'refused' {
    const c = digestChallenge(wwwAuthenticate);
    if (!c) return 'refused';
    if (this.challenge?.nonce !== c.nonce) {
      this.nc = 0;
      this.sessionCnonce = null;
    }
    this.challenge = c;
    return sentNonce === null || c.stale || c.nonce !== sentNonce ? 'retry' : 'refused';
  }
}
