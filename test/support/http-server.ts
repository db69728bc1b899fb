import http from 'node:http';
import type net from 'node:net';
import { onCleanup } from './tmp.js';

/** A real HTTP server on a real socket on loopback, answering (or misbehaving) as `handler` says; closed, its sockets cut, at cleanup. Its base URL. */
export async function handlerServer(handler: http.RequestListener): Promise<string> {
  const sockets = new Set<net.Socket>();
  const srv = http.createServer(handler);
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
}
