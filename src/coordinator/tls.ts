import type { Http2Session } from 'node:http2';
import type tls from 'node:tls';
import type { FastifyInstance } from 'fastify';

export { readTls, reloadTls, type ReloadableTls, type TlsFiles } from '../core/tls-files.js';

/** How long a closing TLS listener waits for the requests in flight before it cuts their connections, ms. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The connections of a TLS listener, so that it can close. An HTTP/2 listener that also speaks
 * HTTP/1.1 keeps neither kind's idle connections from holding its close (a browser's HTTP/2
 * session, a worker's kept-alive socket): closing, it waits for the requests in flight (long
 * polls have been answered by then), at most CLOSE_GRACE_MS, and cuts what is left.
 */
export class TlsConnections {
  private readonly sockets = new Set<tls.TLSSocket>();
  private readonly sessions = new Set<Http2Session>();
  private inFlight = 0;
  private drained: (() => void) | null = null;

  constructor(app: FastifyInstance) {
    app.server.on('secureConnection', (s: tls.TLSSocket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    app.server.on('session', (s: Http2Session) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
    });
    // A request ends once: answered, or its client gone (either hook, never both counted).
    const open = new WeakSet<object>();
    const end = (req: object) => {
      if (open.delete(req)) this.done();
    };
    app.addHook('onRequest', async (req) => {
      open.add(req);
      this.inFlight++;
    });
    app.addHook('onResponse', async (req) => end(req));
    app.addHook('onRequestAbort', async (req) => end(req));
  }

  /** Runs `close` (the listener's) and ends every connection once no request is in flight. */
  async close(close: () => Promise<void>): Promise<void> {
    const closing = close();
    for (const s of this.sessions) s.close();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_GRACE_MS);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
    await closing;
  }

  private done(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight === 0) this.drained?.();
  }
}
