import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError } from '../core/errors.js';
import { httpUrl, isLoopback, listenErrorMessage } from '../core/net.js';
import { allows, authEnabled, NO_TOKENS, type Tokens } from '../core/tokens.js';
import { readTls, reloadTls, type ReloadableTls, type TlsFiles } from '../core/tls-files.js';
import type tls from 'node:tls';
import { BATCH_HEADER, BATCH_MAX, BATCH_TYPE } from './batch.js';
import { batchFrames, sendSegment } from './send-segment.js';
import { isPathPart, MAX_PART_BYTES, SegmentTree } from './tree.js';

/** A segment server's options. */
export interface SegmentServerOptions {
  /** The tree's root: `DIR/CHANNEL/QUALITY/HOUR/NAME`. */
  dir: string;
  /** Default 127.0.0.1. Anything else needs tokens, unless `public`. */
  host?: string;
  /** Default 8003, wubloader's restreamer port behind its nginx; 0 picks a free one. */
  port?: number;
  /** Readers need one of these (admin or worker) as a bearer token or as the password of basic auth. */
  tokens?: Tokens;
  /** Serve beyond loopback without tokens, on purpose. Default false. */
  public?: boolean;
  /** Shown at `/metrics` (a worker's mirror jobs count there). */
  metrics?: Registry;
  /** Serve over HTTPS (HTTP/1.1, as wubloader's backfiller speaks) with these PEM files. Default none. */
  tls?: TlsFiles | null;
  /**
   * Asked about a token that is none of `tokens` (a fellow worker's own, from `drover token`):
   * whether the coordinator takes it as a worker's. Answers are kept VERIFY_CACHE_MS.
   */
  verify?: (token: string) => Promise<boolean>;
  /** How long `verify`'s answers are kept, ms. Default VERIFY_CACHE_MS. */
  verifyCacheMs?: number;
  logger: Logger;
}

/** How long a worker's segment server keeps the coordinator's word on a fellow worker's token, ms: a revocation reaches it within this. */
export const VERIFY_CACHE_MS = 30_000;

export interface RunningSegmentServer {
  url: string;
  app: FastifyInstance;
  /** Reads the TLS files again for new connections (SIGHUP); a ConfigError keeps the old. */
  reloadTls(): void;
  close(): Promise<void>;
}

export const SEGMENT_PORT = 8003;

/** A bearer token, or the password of basic auth (`http://user:TOKEN@host/`, which wubloader's backfiller can send). */
function credentialOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  if (h?.startsWith('Basic ')) {
    const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : decoded;
  }
  return undefined;
}

function json(reply: FastifyReply, names: string[]): FastifyReply {
  return reply.type('application/json').send(JSON.stringify(names));
}

/**
 * Why a path part is refused, or null: an empty one (a trailing slash) is a 404, as on the
 * restreamer; one that is hidden or `..` a 403 with the restreamer's words; one holding a
 * separator or control character a 403 too; one longer than any file name a 404.
 */
function refusedPart(parts: Record<string, string>): { code: number; text: string } | null {
  for (const [k, v] of Object.entries(parts)) {
    if (v === '') return { code: 404, text: 'Not Found' };
    if (v.startsWith('.')) return { code: 403, text: `Bad ${k}: May not start with a period` };
    // No such file can exist: asking the filesystem would fail with ENAMETOOLONG (a 500).
    if (Buffer.byteLength(v) > MAX_PART_BYTES) return { code: 404, text: 'Not Found' };
    if (!isPathPart(v)) return { code: 403, text: `Bad ${k}: May not hold a separator or control character` };
  }
  return null;
}

/** The restreamer's CORS headers, on every answer of a `public` server. */
const CORS = {
  'access-control-allow-credentials': 'false',
  'access-control-allow-headers': '*',
  'access-control-allow-methods': 'GET,POST,HEAD',
  'access-control-allow-origin': '*',
  'access-control-max-age': '86400',
};

/** The HTTP app of a segment tree: wubloader's restreamer routes (listings and segments). */
export function buildSegmentApp(o: { tree: SegmentTree; tokens: Tokens; logger: Logger; metrics?: Registry; public?: boolean; tls?: tls.SecureContextOptions; verify?: (token: string) => Promise<boolean>; verifyCacheMs?: number }): FastifyInstance {
  const verified = o.verify ? new VerifiedTokens(o.verify, o.verifyCacheMs ?? VERIFY_CACHE_MS) : null;
  const app = Fastify({
    loggerInstance: o.logger.child({ part: 'segments' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    keepAliveTimeout: 75_000,
    ...(o.tls ? { https: o.tls } : {}),
  }) as unknown as FastifyInstance;
  // Headers and a small body leave in separate writes; without this each keep-alive request waits ~40 ms on delayed ACKs.
  app.server.on('connection', (socket) => socket.setNoDelay(true));
  app.addHook('onRequest', async (req, reply) => {
    // Only where anyone may read anyway: elsewhere a web page must not read a loopback archive.
    if (o.public) reply.headers(CORS);
    if (req.method === 'OPTIONS') return;
    const credential = credentialOf(req);
    if (!allows(o.tokens, 'worker', credential) && !(verified && credential && (await verified.valid(credential)))) {
      const message = credentialOf(req) === undefined ? 'a token is required (Bearer TOKEN, or http://user:TOKEN@host/)' : 'that token is not valid here (this server takes the admin or the worker token)';
      reply.code(401).header('www-authenticate', 'Basic realm="segments", charset="UTF-8"').send({ error: { code: 'unauthorized', message } });
    }
  });
  const { tree, metrics } = o;
  app.options('*', async (_req, reply) => reply.header('allow', 'HEAD, OPTIONS, GET').send());
  if (metrics) app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  app.get('/files', async (_req, reply) => json(reply, await tree.channels()));
  app.get<{ Params: { channel: string } }>('/files/:channel', async (req, reply) => {
    const bad = refusedPart(req.params);
    return bad ? reply.code(bad.code).send(bad.text) : json(reply, await tree.qualities(req.params.channel));
  });
  app.get<{ Params: { channel: string; quality: string } }>('/files/:channel/:quality', async (req, reply) => {
    const bad = refusedPart(req.params);
    return bad ? reply.code(bad.code).send(bad.text) : json(reply, await tree.hours(req.params.channel, req.params.quality));
  });
  app.get<{ Params: { channel: string; quality: string; hour: string }; Querystring: { tombstones?: string } }>('/files/:channel/:quality/:hour', async (req, reply) => {
    const bad = refusedPart(req.params);
    if (bad) return reply.code(bad.code).send(bad.text);
    // Given twice it is an array: "true,false", which is neither.
    const t = String(req.query.tombstones ?? 'false').toLowerCase();
    if (t !== 'true' && t !== 'false') return reply.code(400).send('tombstones must be one of: true, false');
    const { channel, quality, hour } = req.params;
    return json(reply.header(BATCH_HEADER, String(BATCH_MAX)), await tree.listing(channel, quality, hour, t === 'true'));
  });
  app.post<{ Params: { channel: string; quality: string; hour: string }; Body: unknown }>('/segments/:channel/:quality/:hour', async (req, reply) => {
    const bad = refusedPart(req.params);
    if (bad) return reply.code(bad.code).send(bad.text);
    const names = req.body;
    if (!Array.isArray(names) || names.length > BATCH_MAX) return reply.code(400).send(`the body must be a JSON array of at most ${BATCH_MAX} segment names`);
    const odd = names.findIndex((n) => typeof n !== 'string' || !isPathPart(n));
    if (odd >= 0) return reply.code(400).send(`names[${odd}] is not a segment name`);
    const { channel, quality, hour } = req.params;
    const servable = (name: string) => tree.servable(channel, quality, hour, name);
    return reply.type(BATCH_TYPE).send(Readable.from(batchFrames(tree.base, path.join(channel, quality, hour), names as string[], servable), { objectMode: false }));
  });
  app.get<{ Params: { channel: string; quality: string; hour: string; name: string } }>('/segments/:channel/:quality/:hour/:name', async (req, reply) => {
    const bad = refusedPart(req.params);
    if (bad) return reply.code(bad.code).send(bad.text);
    const { channel, quality, hour, name } = req.params;
    if (!tree.servable(channel, quality, hour, name)) return reply.code(404).send('Not Found');
    return sendSegment(req, reply, tree.base, path.join(channel, quality, hour, name));
  });
  return app;
}

/** Serves a segment tree. Throws ConfigError with a clear message. */
export async function startSegmentServer(o: SegmentServerOptions): Promise<RunningSegmentServer> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? SEGMENT_PORT;
  const tokens = o.tokens ?? NO_TOKENS;
  if (!isLoopback(host) && !authEnabled(tokens) && !o.public) {
    throw new ConfigError(`refusing to serve segments on ${host} without tokens: give --token-file FILE (created with random tokens if missing), --public to serve them to anyone, or listen on 127.0.0.1`);
  }
  const labels = { cert: 'segments tls cert', key: 'segments tls key' };
  let app: FastifyInstance;
  try {
    app = buildSegmentApp({ tree: new SegmentTree(path.resolve(o.dir)), tokens, logger: o.logger, ...(o.verify ? { verify: o.verify } : {}), ...(o.verifyCacheMs !== undefined ? { verifyCacheMs: o.verifyCacheMs } : {}), ...(o.metrics ? { metrics: o.metrics } : {}), ...(o.public ? { public: true } : {}), ...(o.tls ? { tls: readTls(o.tls, labels) } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`the segment server's certificate and key cannot be used (${(err as Error).message}); do they go together?`);
  }
  try {
    await app.listen({ host, port });
  } catch (err) {
    throw new ConfigError(listenErrorMessage(err, host, port, 'another segment server?'));
  }
  const addr = app.server.address();
  const url = httpUrl(host, typeof addr === 'object' && addr ? addr.port : port).replace(/^http:/, o.tls ? 'https:' : 'http:');
  o.logger.info({ url, dir: o.dir, auth: authEnabled(tokens) }, 'serving segments');
  return {
    url,
    app,
    reloadTls: () => {
      if (o.tls) reloadTls(app.server as unknown as ReloadableTls, o.tls, labels);
    },
    close: () => app.close(),
  };
}

/**
 * The coordinator's answers about fellow workers' tokens, kept for `ttlMs` by the token's hash (a
 * mirror pass asks with every request). A coordinator that cannot be asked refuses the token.
 */
class VerifiedTokens {
  private readonly answers = new Map<string, { valid: boolean; until: number }>();

  constructor(
    private readonly ask: (token: string) => Promise<boolean>,
    private readonly ttlMs: number,
  ) {}

  async valid(token: string): Promise<boolean> {
    const key = createHash('sha256').update(token).digest('hex');
    const now = Date.now();
    const known = this.answers.get(key);
    if (known && known.until > now) return known.valid;
    let valid = false;
    try {
      valid = await this.ask(token);
    } catch {
      return false;
    }
    if (this.answers.size > 10_000) this.answers.clear();
    this.answers.set(key, { valid, until: now + this.ttlMs });
    return valid;
  }
}
