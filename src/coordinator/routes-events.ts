import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../core/errors.js';
import { ROUTES } from '../protocol/routes.js';
import type { HttpOptions } from './http-context.js';
import { LIVE_EVENT_TYPES, type LiveEventFilter, type LiveEventType } from './live-events.js';

/** A stream whose client reads slower than this is behind (bytes buffered) is closed; it reconnects and reads the state again. */
const MAX_BUFFERED = 1 << 20;
/** A comment line this often keeps proxies from closing an idle stream, ms. */
const KEEPALIVE_MS = 15_000;

/**
 * `GET /api/v1/events`: server-sent events of this coordinator — `job` (a state change), `progress`
 * and `worker` (joined, left) — filtered by `types`, `job` and `queue`. Read tokens may listen.
 */
export function registerEventRoutes(app: FastifyInstance, o: HttpOptions): void {
  const events = o.coordinator.events;
  // Admin and read tokens (not a worker's: its token sees the worker routes only).
  app.get(ROUTES.events.pattern, async (req, reply) => {
    const filter = eventFilterOf(req.query as Record<string, string | undefined>);
    reply.hijack();
    const res = reply.raw;
    // The client may have gone while its token was checked: its close has fired already.
    if (req.raw.destroyed || res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    // A HEAD gets the headers alone (Node sends no body to it, so they would wait for an end that never comes).
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(`retry: 2000\n: drover events\n\n`);
    let n = 0;
    let stop = () => {};
    const end = () => {
      stop();
      clearInterval(keepAlive);
      if (!res.writableEnded) res.end();
    };
    // A reader that fell behind is cut off, not left holding its buffer.
    const drop = () => {
      end();
      res.destroy();
    };
    stop = events.listen(
      filter,
      (e) => {
        if (res.writableLength > MAX_BUFFERED) return drop();
        res.write(`id: ${++n}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
      },
      end,
    );
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    keepAlive.unref();
    res.on('close', end);
  });
}

/** The query of `GET /events` as a filter; an unknown type is a ValidationError naming it. */
export function eventFilterOf(q: Record<string, string | undefined>): LiveEventFilter {
  let types: Set<LiveEventType> | null = null;
  if (q.types) {
    types = new Set();
    for (const t of q.types.split(',').map((s) => s.trim())) {
      if (!LIVE_EVENT_TYPES.includes(t as LiveEventType)) throw new ValidationError(`types: unknown event type "${t}" (${LIVE_EVENT_TYPES.join(', ')})`, 'types');
      types.add(t as LiveEventType);
    }
  }
  return { types, job: q.job || null, queue: q.queue || null };
}
