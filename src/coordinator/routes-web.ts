import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The dashboard's page and its bundled assets (built by `npm run build` into dist/web). */
export const WEB_ROUTES = {
  page: { method: 'GET', pattern: '/' },
  asset: { method: 'GET', pattern: '/assets/:name' },
} as const;

interface WebFile {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.map': 'application/json' };

/**
 * The page allows its own scripts, styles and connections only: no inline script, no other
 * origin, no framing. What the page shows of jobs is text, never markup.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Serves the dashboard from memory: `/` (revalidated each time: it names the current assets) and
 * `/assets/NAME` (content-hashed names, cached for a year). Names come from the bundle's own
 * listing, never from the request, so nothing outside it can be read. Public: the data the page
 * shows comes from the API, which checks the session.
 */
export function registerWebRoutes(app: FastifyInstance, root = webRoot()): void {
  let files: Map<string, WebFile> | null = null;
  const load = () => (files ??= root ? readBundle(root) : new Map());
  const send = (reply: FastifyReply, f: WebFile, cache: string, ifNoneMatch: string | undefined) => {
    reply.header('cache-control', cache).header('etag', f.etag).header('x-content-type-options', 'nosniff');
    if (ifNoneMatch === f.etag) return reply.code(304).send();
    return reply.type(f.type).send(f.body);
  };
  app.get(WEB_ROUTES.page.pattern, { config: { role: 'public' } }, async (req, reply) => {
    const page = load().get('index.html');
    if (!page) return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built: run `npm run build` (it bundles web/ into dist/web).\n');
    reply.headers(PAGE_HEADERS);
    return send(reply, page, 'no-cache', req.headers['if-none-match']);
  });
  app.get(WEB_ROUTES.asset.pattern, { config: { role: 'public' } }, async (req, reply) => {
    const f = load().get(`assets/${(req.params as { name: string }).name}`);
    if (!f) return reply.code(404).send({ error: { code: 'not_found', message: 'no such dashboard asset' } });
    return send(reply, f, 'public, max-age=31536000, immutable', req.headers['if-none-match']);
  });
}

/** dist/web beside the compiled coordinator, or (running from src, as tests do) the repository's dist/web. */
export function webRoot(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.resolve(here, '../web'), path.resolve(here, '../../dist/web')]) if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  return null;
}

function readBundle(root: string): Map<string, WebFile> {
  const out = new Map<string, WebFile>();
  const add = (rel: string) => {
    const body = fs.readFileSync(path.join(root, rel));
    out.set(rel, { body, type: TYPES[path.extname(rel)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  };
  add('index.html');
  const assets = path.join(root, 'assets');
  if (fs.existsSync(assets)) for (const name of fs.readdirSync(assets)) if (/^[A-Za-z0-9._-]+$/.test(name)) add(`assets/${name}`);
  return out;
}
