import fs from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Metrics } from './metrics.js';

/**
 * File descriptors kept beside client connections: the store's files (SQLite's database, WAL,
 * shared memory, search index) or PostgreSQL's pool, logs, a TLS reload's reads, the process's own.
 */
export const FD_RESERVE = 256;

/** A refusal is logged at most this often, ms; the warning says how many since the last. */
const WARN_EVERY_MS = 60_000;

/**
 * This process's limit of open files (the soft RLIMIT_NOFILE, which Node raises to the hard one
 * at start), from /proc/self/limits; null where that cannot be read (not Linux).
 */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The connection cap to use: `asked` (default `byDefault`), at most the open-file limit less
 * FD_RESERVE, so that at the cap the coordinator still opens what it needs. `lowered` says so
 * when a value asked for is lowered (the default is lowered silently).
 */
export function connectionCap(asked: number | undefined, byDefault: number, limit: number | null): { max: number; lowered?: string } {
  const want = asked ?? byDefault;
  const room = limit === null ? Infinity : Math.max(1, limit - FD_RESERVE);
  if (want <= room) return { max: want };
  if (asked === undefined) return { max: room };
  return { max: room, lowered: `server.max_connections: ${asked} lowered to ${room}: the open-file limit is ${limit}, less ${FD_RESERVE} kept for the store and logs; raise it (systemd LimitNOFILE=, docker --ulimit nofile=) to allow more` };
}

/**
 * The connections of a listener. Caps them at `max`: one more is closed at once, before a byte
 * is read (Node's maxConnections), counted, and logged at most once a minute; the gauge counts
 * those open. Over TLS the count is of TCP connections, before their handshakes.
 */
export class Connections {
  /** Each open TCP connection, with its requests in flight (plain HTTP; over TLS they are not seen here). */
  private readonly open = new Map<net.Socket, number>();
  private closing = false;

  constructor(server: net.Server, o: { max: number; metrics: Metrics; log: Logger; clock: Clock }) {
    server.maxConnections = o.max;
    server.on('connection', (socket: net.Socket) => {
      if (this.closing) return socket.destroy();
      this.open.set(socket, 0);
      o.metrics.httpConnections.set(this.open.size);
      socket.once('close', () => {
        this.open.delete(socket);
        o.metrics.httpConnections.set(this.open.size);
      });
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      const n = this.open.get(socket);
      if (n === undefined) return;
      this.open.set(socket, n + 1);
      res.once('close', () => {
        const left = (this.open.get(socket) ?? 1) - 1;
        this.open.set(socket, left);
        if (this.closing && left === 0) socket.destroySoon();
      });
    });
    let refused = 0;
    let nextWarn = -Infinity;
    server.on('drop', () => {
      o.metrics.httpConnectionsRefused.inc();
      refused++;
      const now = o.clock.now();
      if (now < nextWarn) return;
      nextWarn = now + WARN_EVERY_MS;
      o.log.warn({ refused, max: o.max }, `${o.max} connections open (server.max_connections): new ones are closed at once`);
      refused = 0;
    });
  }

  /**
   * Closing (plain HTTP): ends each connection once it has no request in flight, now or after
   * its answer. A closed listener closes only idle kept-alive ones, and no longer checks request
   * timeouts: one that sent nothing, or half a header, would hold its close for ever.
   */
  closeIdle(): void {
    this.closing = true;
    for (const [socket, n] of this.open) if (n === 0) socket.destroy();
  }
}
