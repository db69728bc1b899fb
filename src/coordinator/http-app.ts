import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { DroverError, StorageFullError } from '../core/errors.js';
import type { HealthAnswer } from '../protocol/messages.js';
import { mib } from './disk-guard.js';
import { ROUTES } from '../protocol/routes.js';
import { systemClock } from '../core/clock.js';
import { authHook } from './auth.js';
import type { HttpOptions } from './http-context.js';
import { openApiDocument } from './openapi.js';
import { registerJobRoutes } from './routes-jobs.js';
import { registerQueueRoutes } from './routes-queues.js';
import { registerTokenRoutes } from './routes-tokens.js';
import { registerWorkerRoutes } from './routes-workers.js';
import { AUTH_LIMITS, FailureLimiter } from './auth-limiter.js';
import { registerDashboardRoutes } from './routes-dashboard.js';
import { registerEventRoutes } from './routes-events.js';
import { registerSessionRoutes } from './routes-session.js';
import { registerWebRoutes } from './routes-web.js';
import { DashboardSessions } from './sessions.js';

/**
 * The longest path segment (`:id`, `:name`) the router takes, characters as sent: a name of 128
 * (worker, token, schedule and queue names) percent-encoded whole. Longer is a 414.
 */
const MAX_PATH_SEGMENT = 512;

/** Builds the coordinator's HTTP API (JSON under /api/v1). Knows no SQL. */
export function buildHttpApp(o: HttpOptions): FastifyInstance {
  const common = {
    loggerInstance: o.logger.child({ part: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.maxBodyBytes,
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT },
    // Typed per kind of server (HTTP/1.1, HTTP/2); it uses only what both kinds of reply have.
    frameworkErrors: routerError as never,
    ...(o.trustedProxies ? { trustProxy: o.trustedProxies } : {}),
    // Keep-alive sockets are reused by workers. The request timeout bounds receiving a request,
    // not answering it: a long poll waits after its body is in. It is what closes a client that
    // announces a body and trickles it (or never sends it), checked every second.
    keepAliveTimeout: 75_000,
    requestTimeout: o.requestTimeoutMs,
  };
  // Over TLS both HTTP/2 and HTTP/1.1 (the workers' client speaks 1.1), chosen by ALPN. The
  // routes use only what both kinds of request have, so one instance type serves for both.
  const app = (
    o.tls
      ? Fastify({ ...common, http2: true, https: { allowHTTP1: true, ...o.tls } })
      : Fastify({ ...common, http: { connectionsCheckingInterval: Math.min(1_000, o.requestTimeoutMs), headersTimeout: o.requestTimeoutMs, requestTimeout: o.requestTimeoutMs } })
  ) as unknown as FastifyInstance;

  // Who is asking and whether they may (auth.ts): the token file's tokens, then the store's.
  app.decorateRequest('principal', null);
  const clock = o.clock ?? systemClock;
  const limiter = new FailureLimiter(clock, o.authLimits ?? AUTH_LIMITS);
  const sessions = new DashboardSessions({ clock });
  app.addHook('onRequest', authHook({ tokens: o.tokens, access: o.coordinator.tokens, clock, log: o.logger, limiter, sessions }));

  // Every query parameter is one value: `?q=a&q=b` is a mistake to name, not an array to trip on.
  app.addHook('preValidation', async (req, reply) => {
    const q = req.query as Record<string, unknown> | undefined;
    const twice = q ? Object.keys(q).find((k) => Array.isArray(q[k])) : undefined;
    if (twice === '') return reply.code(400).send({ error: { code: 'invalid', message: 'query: a parameter without a name given more than once', field: 'query' } });
    if (twice !== undefined) return reply.code(400).send({ error: { code: 'invalid', message: `${twice}: given more than once in the query`, field: twice } });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof DroverError) {
      const field = (err as { field?: string }).field;
      // A refusal that passes (too many long polls): when to ask again.
      const retryAfter = (err as { retryAfterS?: number }).retryAfterS;
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(field ? { field } : {}) } });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: { code: 'too_large', message: `request body larger than ${o.maxBodyBytes} bytes (server.max_body)` } });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error: { code: 'unsupported_media_type', message: 'send JSON with Content-Type: application/json' } });
    }
    if (isStorageFull(err)) {
      // The transaction was rolled back: nothing of the request was stored, nothing acknowledged is lost.
      req.log.error({ err: err.message }, 'storage full');
      void o.coordinator.storageFull().catch(() => undefined);
      const where = o.coordinator.storage()?.dir;
      return reply.code(507).send({ error: { code: 'storage_full', message: `the coordinator's storage is full (${err.code ?? 'ENOSPC'}: ${err.message}): nothing of this request was stored; free space${where ? ` on ${where}` : ' for the database'} and send it again` } });
    }
    if (isDatabaseDown(err)) {
      // Nothing was changed; the client retries (workers fail over to another coordinator).
      req.log.warn({ err: err.message }, 'database unavailable');
      o.coordinator.storeUnavailable();
      return reply.code(503).header('retry-after', '1').send({ error: { code: 'unavailable', message: 'the database is unavailable; retry shortly' } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const message = err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'body: empty JSON body' : err instanceof SyntaxError ? `body: not valid JSON (${err.message})` : err.message;
      return reply.code(err.statusCode).send({ error: { code: 'bad_request', message } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error; see the coordinator log' } });
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  // Unhealthy while new jobs are refused for want of space: a balancer sends them elsewhere.
  app.get(ROUTES.health.pattern, { config: { role: 'public' } }, async (): Promise<HealthAnswer> => {
    const storage = o.coordinator.storage();
    if (storage?.state === 'low') {
      throw new StorageFullError(`storage low: ${mib(storage.freeBytes)} free on ${storage.dir}, under the reserve of ${mib(storage.reserveBytes)} (server.disk_reserve_mb): new jobs are refused`);
    }
    return { ok: true, version: o.version, ...(storage ? { storage } : {}) };
  });
  app.get(ROUTES.metrics.pattern, { config: { role: 'read' } }, async (_req, reply) => {
    const { contentType, text } = await o.coordinator.metricsText();
    reply.header('content-type', contentType);
    return text;
  });
  app.get(ROUTES.openapi.pattern, { config: { role: 'public' } }, async () => openApiDocument(o.version));

  registerJobRoutes(app, o);
  registerWorkerRoutes(app, o);
  registerTokenRoutes(app, o);
  registerQueueRoutes(app, o);
  registerEventRoutes(app, o);
  registerDashboardRoutes(app, o);
  registerSessionRoutes(app, o, { sessions, limiter });
  registerWebRoutes(app);
  return app;
}

/**
 * What the router refuses before a route is found (before the token is checked), answered as
 * every error is: a segment longer than MAX_PATH_SEGMENT, a path that is not valid percent-encoding.
 */
function routerError(err: FastifyError, _req: unknown, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') reply.code(414).send({ error: { code: 'too_large', message: `path: a segment longer than ${MAX_PATH_SEGMENT} characters` } });
  else if (err.code === 'FST_ERR_BAD_URL') reply.code(400).send({ error: { code: 'bad_request', message: 'path: not valid percent-encoding (a % not followed by two hex digits, or bytes that are not UTF-8)' } });
  else reply.code(400).send({ error: { code: 'bad_request', message: `path: ${err.message}` } });
}

/** A write refused for want of space: SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100), a file's ENOSPC. */
function isStorageFull(err: Error & { code?: string }): boolean {
  return err.code === 'SQLITE_FULL' || err.code === '53100' || err.code === 'ENOSPC';
}

/** Connection failures to the database (refused, reset, terminated, PostgreSQL class 08 and 57P0x). */
function isDatabaseDown(err: Error & { code?: string }): boolean {
  const code = err.code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03'].includes(code) ||
    code.startsWith('08') ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(err.message)
  );
}
