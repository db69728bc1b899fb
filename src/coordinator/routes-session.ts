import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authEnabled } from '../core/tokens.js';
import type { SessionAnswer } from '../protocol/messages.js';
import { ROUTES } from '../protocol/routes.js';
import { signInRequestOf } from '../protocol/validate-dashboard.js';
import { principalOf, tooManyFailures } from './auth.js';
import type { FailureLimiter } from './auth-limiter.js';
import type { HttpOptions } from './http-context.js';
import { cookieOf, SESSION_COOKIE, type DashboardSessions } from './sessions.js';

/**
 * The dashboard's sign-in: `POST /session {"token"}` checks the token (failures count toward the
 * address's limit, as a bearer's do) and answers with an http-only, same-site cookie and the CSRF
 * token the page sends with each change; `GET` says who is signed in, `DELETE` signs out. A
 * worker token cannot sign in. Without tokens (loopback only) the dashboard is open.
 */
export function registerSessionRoutes(app: FastifyInstance, o: HttpOptions, a: { sessions: DashboardSessions; limiter: FailureLimiter }): void {
  const open: SessionAnswer = { authRequired: false, signedIn: true, role: 'admin', csrf: null };
  const out: SessionAnswer = { authRequired: true, signedIn: false, role: null, csrf: null };
  const access = { tokens: o.tokens, access: o.coordinator.tokens };
  const log = o.logger.child({ part: 'auth' });

  app.get(ROUTES.session.pattern, { config: { role: 'public' } }, async (req): Promise<SessionAnswer> => {
    if (!authEnabled(o.tokens)) return open;
    const sid = cookieOf(req.headers.cookie, SESSION_COOKIE);
    const s = sid === null ? null : a.sessions.get(sid);
    if (!s) return out;
    const who = await principalOf(access, s.bearer);
    if (who === null || 'expired' in who || who.role === 'worker') {
      a.sessions.delete(sid as string);
      return out;
    }
    return { authRequired: true, signedIn: true, role: who.role === 'admin' ? 'admin' : 'read', csrf: s.csrf };
  });

  app.post(ROUTES.signIn.pattern, { config: { role: 'public' } }, async (req, reply): Promise<SessionAnswer | undefined> => {
    if (!authEnabled(o.tokens)) return open;
    const blocked = a.limiter.blockedFor(req.ip);
    if (blocked > 0) {
      tooManyFailures(reply, req.ip, blocked);
      return;
    }
    const { token } = signInRequestOf(req.body);
    const who = await principalOf(access, token);
    if (who === null || 'expired' in who) {
      a.limiter.fail(req.ip);
      log.warn({ address: req.ip, route: ROUTES.signIn.pattern }, 'dashboard sign-in failed');
      reply.code(401).send({ error: { code: 'unauthorized', message: who ? `token ${who.expired} has expired; make a new one (drover token add)` : 'that token is not valid here', field: 'token' } });
      return;
    }
    if (who.role === 'worker') {
      reply.code(403).send({ error: { code: 'forbidden', message: 'a worker token cannot sign in to the dashboard: use the admin token (or a read token to look only)', field: 'token' } });
      return;
    }
    const { id, session } = a.sessions.create(token);
    setCookie(req, reply, id, Math.floor(a.sessions.ttlMs / 1000));
    log.info({ address: req.ip, role: who.role, ...(who.name ? { name: who.name } : {}) }, 'signed in to the dashboard');
    return { authRequired: true, signedIn: true, role: who.role === 'admin' ? 'admin' : 'read', csrf: session.csrf };
  });

  app.delete(ROUTES.signOut.pattern, { config: { role: 'public' } }, async (req, reply): Promise<SessionAnswer> => {
    const sid = cookieOf(req.headers.cookie, SESSION_COOKIE);
    if (sid !== null) a.sessions.delete(sid);
    setCookie(req, reply, '', 0);
    return authEnabled(o.tokens) ? out : open;
  });
}

/** The session cookie: http-only, same-site strict, Secure over TLS (or behind a trusted proxy that says https). */
function setCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAgeS: number): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`);
}
