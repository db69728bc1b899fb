import net from 'node:net';

/**
 * A TCP proxy that can black-hole its traffic: while `hole()` is on, bytes in both directions
 * are read and dropped, and new connections are accepted and then ignored — packets lost, not
 * refused, as on a link that went dark. `heal()` passes traffic again (on every connection).
 */
export interface BlackholeProxy {
  url: string;
  hole(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  let dark = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.on('data', (d) => void (dark || outbound.write(d)));
    outbound.on('data', (d) => void (dark || inbound.write(d)));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hole: () => (dark = true),
    heal: () => (dark = false),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
