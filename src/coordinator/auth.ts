import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { accessTokenIdOf } from '../core/access-token.js';
import type { Clock } from '../core/clock.js';
import { ForbiddenError } from '../core/errors.js';
import { authEnabled, tokensEqual, type Role, type Tokens } from '../core/tokens.js';
import type { AccessTokens, Principal } from './access-tokens.js';
import { AUTH_LIMITS, FailureLimiter, type AuthLimits } from './auth-limiter.js';
import { cookieOf, CSRF_HEADER, csrfMatches, SESSION_COOKIE, type DashboardSessions } from './sessions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Default admin. */
    role?: Role;
    /** Whether a read token may call this GET route of role admin. Default true. */
    readable?: boolean;
  }
  interface FastifyRequest {
    /** Who the request's token says it is; null when the coordinator checks no tokens, or on a public route. */
    principal: Principal | null;
  }
}

export interface AuthOptions {
  /** The token file's two shared tokens; both null: no tokens are checked at all (loopback only). */
  tokens: Tokens;
  /** The store's tokens, beside the file's. */
  access: AccessTokens;
  clock: Clock;
  log: Logger;
  /** Default AUTH_LIMITS: 10 failures a minute block an address for a minute. */
  limits?: AuthLimits;
  /** The failures counted per address; shared with the dashboard's sign-in. Default one of its own. */
  limiter?: FailureLimiter;
  /** The dashboard's sign-ins: a request without a bearer token may carry their cookie instead. */
  sessions?: DashboardSessions;
}

/**
 * The coordinator's onRequest hook: who is asking (the token file's tokens first, then the
 * store's), whether that role may call the route, and a limit on failed authentications per
 * client address (429 with Retry-After). A failure is logged with the address, the route and at
 * most the token's non-secret id, never the token.
 */
export function authHook(o: AuthOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const limiter = o.limiter ?? new FailureLimiter(o.clock, o.limits ?? AUTH_LIMITS);
  const log = o.log.child({ part: 'auth' });
  return async (req, reply) => {
    req.principal = null;
    const need = req.routeOptions.config.role ?? 'admin';
    if (!authEnabled(o.tokens)) {
      const why = openModeRefusal(req);
      if (why) reply.code(403).send({ error: { code: 'forbidden', message: why } });
      return;
    }
    if (need === 'public') return;
    // The address Fastify believes: the socket's, or X-Forwarded-For from a trusted proxy.
    const address = req.ip;
    const route = req.routeOptions.url ?? req.url.split('?')[0];
    const blocked = limiter.blockedFor(address);
    if (blocked > 0) return tooManyFailures(reply, address, blocked);
    const h = req.headers.authorization;
    let bearer = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    const sid = bearer ? null : cookieOf(req.headers.cookie, SESSION_COOKIE);
    /** Who the session's token is, once looked up for the session; undefined without one. */
    let known: Awaited<ReturnType<typeof principalOf>> | undefined;
    if (sid !== null && o.sessions) {
      const session = o.sessions.get(sid);
      if (!session) return refuse(reply, 'the dashboard session has expired or ended; sign in again');
      known = await principalOf(o, session.bearer);
      if (known === null || 'expired' in known) {
        // Its token was revoked or expired: the session ends; not a guess, so not counted as one.
        o.sessions.delete(sid);
        return refuse(reply, 'the token this dashboard session was signed in with is no longer valid; sign in again');
      }
      // A change under a cookie must show the session's CSRF token: another site's page can send the cookie, not the header.
      if (req.method !== 'GET' && req.method !== 'HEAD' && !csrfMatches(session, req.headers[CSRF_HEADER])) {
        reply.code(403).send({ error: { code: 'forbidden', message: `a change made with the dashboard's cookie needs the ${CSRF_HEADER} header of its session` } });
        return;
      }
      bearer = session.bearer;
    }
    if (!bearer) {
      // Mutual TLS (server.tls.client_ca): a certificate the CA signed is its worker's identity, for the worker routes.
      const name = need === 'worker' ? clientCertName(req) : null;
      if (name !== null) {
        req.principal = { role: 'worker', name, id: null, queues: [] };
        return;
      }
      return refuse(reply, 'a bearer token is required (DROVER_TOKEN or --token-file)');
    }
    const who = known !== undefined ? known : await principalOf(o, bearer);
    if (who === null || 'expired' in who) {
      const id = accessTokenIdOf(bearer);
      const started = limiter.fail(address);
      log.warn({ address, method: req.method, route, ...(id ? { token: id } : {}), ...(who ? { expired: who.expired } : {}) }, who ? 'authentication failed: the token has expired' : 'authentication failed');
      if (started) log.warn({ address, blockMs: (o.limits ?? AUTH_LIMITS).blockMs }, 'too many failed authentications: refusing this address for a while');
      return refuse(reply, who ? `token ${who.expired} expired at ${new Date(who.at).toISOString()}; make a new one (drover token add)` : 'the token is not valid for this request');
    }
    if (!permits(who, need, req.method, req.routeOptions.config.readable !== false)) {
      log.info({ address, method: req.method, route, role: who.role, ...(who.name ? { name: who.name } : {}) }, 'refused: the token lacks the role');
      return refuse(reply, lacking(who, need, req.method));
    }
    req.principal = who;
  };
}

/** Whether a token of `who`'s role may call a route of role `need` with `method`. */
export function permits(who: Principal, need: Role, method: string, readable: boolean): boolean {
  if (need === 'public' || who.role === 'admin') return true;
  if (who.role === 'worker') return need === 'worker' || need === 'read';
  return need === 'read' || (need === 'admin' && readable && (method === 'GET' || method === 'HEAD'));
}

/**
 * A worker token may use its own name only: leases, heartbeats and stop polls as another worker
 * are a 403. Any other principal (the token file's, an admin) may use any name.
 */
export function checkWorkerName(who: Principal | null, name: string): void {
  if (who?.role !== 'worker' || who.name === null || who.name === name) return;
  throw new ForbiddenError(`this token is worker ${who.name}'s: it cannot act as worker ${name} (run the worker with --name ${who.name}, or worker.name)`);
}

/**
 * The queues a lease may take from: a worker token's own when the worker asks for all (empty),
 * else those asked, when the token allows each; a queue it does not allow is a 403 naming those it does.
 */
export function leaseQueues(who: Principal | null, asked: string[]): string[] {
  if (who?.role !== 'worker' || who.queues.length === 0) return asked;
  if (asked.length === 0) return who.queues;
  const outside = asked.filter((q) => !who.queues.includes(q));
  if (outside.length === 0) return asked;
  throw new ForbiddenError(`token ${who.name ?? ''} may lease from queues ${who.queues.join(', ')} only, not ${outside.join(', ')}`);
}

/**
 * Whether `bearer` is a worker's or an admin's token now (the token file's or the store's): what a
 * worker's segment server asks of the coordinator about a fellow worker's token.
 */
export async function isWorkerToken(o: Pick<AuthOptions, 'tokens' | 'access'>, bearer: string): Promise<boolean> {
  const who = await principalOf(o, bearer);
  return who !== null && !('expired' in who) && (who.role === 'worker' || who.role === 'admin');
}

/** Who `bearer` is: the token file's admin or worker, a store token (or that it expired), or null. */
export async function principalOf(o: Pick<AuthOptions, 'tokens' | 'access'>, bearer: string): Promise<Principal | { expired: string; at: number } | null> {
  return fileToken(o.tokens, bearer) ?? (await o.access.authenticate(bearer));
}

/** Host names that are this machine's loopback. */
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i;

/**
 * Without tokens the API is open, to this machine only. A browser on it must not be turned
 * against it: a request for another host name (a DNS name rebound to 127.0.0.1) is refused, and
 * so is a change sent by another site's page (its Origin or Sec-Fetch-Site says so). Tools that
 * send neither header (the CLI, curl, workers) are not affected. Why it is refused, or null.
 */
function openModeRefusal(req: FastifyRequest): string | null {
  if (!LOOPBACK_HOST.test(req.hostname)) return `this coordinator checks no tokens, so it answers requests for its loopback address only, not for host "${req.hostname}" (set server.token_file to serve other names)`;
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return null;
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  let foreign = site === 'cross-site' || site === 'same-site';
  if (!foreign && typeof origin === 'string' && origin !== 'null') {
    try {
      foreign = new URL(origin).host !== req.host;
    } catch {
      foreign = true;
    }
  } else if (origin === 'null') foreign = true;
  return foreign ? "a change sent by another site's page is refused (this coordinator checks no tokens; its own dashboard and the CLI are not affected)" : null;
}

function fileToken(t: Tokens, bearer: string): Principal | null {
  if (t.admin !== null && tokensEqual(bearer, t.admin)) return { role: 'admin', name: null, id: null, queues: [] };
  if (t.worker !== null && tokensEqual(bearer, t.worker)) return { role: 'worker', name: null, id: null, queues: [] };
  return null;
}

/** Why `who` may not: the likely mistake named (a worker token where the admin one is needed). */
function lacking(who: Principal, need: Role, method: string): string {
  if (who.role === 'worker') return who.name === null ? 'this request needs the admin token; the worker token only runs workers' : `this request needs an admin token; token ${who.name} is a worker's, for the worker routes only`;
  if (need === 'worker') return `token ${who.name ?? ''} is read-only: the worker routes need a worker token`;
  if (method === 'GET' || method === 'HEAD') return `token ${who.name ?? ''} is read-only, and this GET needs an admin token (the token list)`;
  return `token ${who.name ?? ''} is read-only: GET routes and /metrics only`;
}

/** 429 for an address blocked after too many failed authentications, for `blockedMs` more. */
export function tooManyFailures(reply: FastifyReply, address: string, blockedMs: number): void {
  const s = Math.ceil(blockedMs / 1000);
  reply.code(429).header('retry-after', String(s)).header('connection', 'close').send({ error: { code: 'rate_limited', message: `too many failed authentications from ${address}; try again in ${s} s` } });
}

function refuse(reply: FastifyReply, message: string): void {
  // The connection is closed after the answer: a client guessing tokens opens a new one each time.
  reply.code(401).header('www-authenticate', 'Bearer').header('connection', 'close').send({ error: { code: 'unauthorized', message } });
}

/** Worker names a client certificate may carry (its common name), as worker names are. */
const CERT_NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** The common name of the client certificate the request's connection showed, when the client CA signed it; else null. */
function clientCertName(req: FastifyRequest): string | null {
  const socket = req.raw.socket as Partial<TLSSocket> | undefined;
  if (!socket?.authorized || typeof socket.getPeerCertificate !== 'function') return null;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === 'string' && CERT_NAME.test(name) ? name : null;
}
