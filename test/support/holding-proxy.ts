import http from 'node:http';
import type net from 'node:net';
import { onCleanup } from './tmp.js';

/**
 * A real HTTP proxy in front of a server that can stop answering some requests: while `hold`
 * matches a request (method and path), it reads the request and never answers, the connection
 * left open, as a coordinator behind a black-holed link would; while `loseAnswers` matches, the
 * server gets the request but the client's connection is reset before the answer. Every other
 * request goes through.
 */
export interface HoldingProxy {
  url: string;
  /** Requests held so far, by path. */
  held: string[];
  /** Every request that reached the proxy, as `METHOD /path`. */
  seen: string[];
  /** Holds the requests this matches (null: none). Held ones stay held until `release`. */
  hold(match: ((method: string, path: string) => boolean) | null): void;
  /** Passes the requests this matches on, then resets the connection instead of answering: the answer is lost. */
  loseAnswers(match: ((method: string, path: string) => boolean) | null): void;
  /** Answers lost so far, by path. */
  lost: string[];
  /** Drops the connections of the requests held (the client sees a reset) and holds what `next` matches from now on (default: nothing). */
  release(next?: (method: string, path: string) => boolean): void;
}

export async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const to = new URL(target);
  let match: ((method: string, path: string) => boolean) | null = null;
  let losing: ((method: string, path: string) => boolean) | null = null;
  const lost: string[] = [];
  const holding = new Set<net.Socket>();
  const held: string[] = [];
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push(`${req.method ?? 'GET'} ${path}`);
    if (match?.(req.method ?? 'GET', path)) {
      held.push(path);
      holding.add(req.socket);
      req.resume();
      return;
    }
    const lose = losing?.(req.method ?? 'GET', path) ?? false;
    const out = http.request({ host: to.hostname, port: to.port, method: req.method, path, headers: req.headers }, (answer) => {
      if (lose) {
        // The server did the work; its answer never reaches the client.
        answer.resume();
        answer.on('end', () => {
          lost.push(path);
          req.socket.destroy();
        });
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  onCleanup(async () => {
    for (const s of holding) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    seen,
    lost,
    hold: (m) => (match = m),
    loseAnswers: (m) => (losing = m),
    release: (next) => {
      match = next ?? null;
      for (const s of holding) s.destroy();
      holding.clear();
    },
  };
}
