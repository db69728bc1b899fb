import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';

/**
 * A static file server that paces every TCP connection to `rate` bytes/s, with no more than
 * `burst` bytes ahead: the server the download benchmark needs, limiting each connection the
 * way file hosts do. nginx's `limit_rate` cannot stand in: it limits each request, and sends the
 * first second's worth at once, so ranges under 20 MB are not limited at all.
 *
 * Run as `node throttle-server.js ROOT RATE`; it prints `listening on PORT`.
 */
export function startThrottleServer(root: string, rate: number, burst = 256 * 1024): Promise<{ server: http.Server; port: number }> {
  /** Per connection: when pacing started and bytes sent since. */
  const pace = new WeakMap<net.Socket, { t0: number; sent: number }>();
  const server = http.createServer((req, res) => {
    const file = path.join(root, path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, ''));
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
      if (!st.isFile()) throw new Error('not a file');
    } catch {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${st.size.toString(16)}-${st.mtimeMs.toString(16)}"`;
    const headers: http.OutgoingHttpHeaders = { etag, 'last-modified': st.mtime.toUTCString(), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    let start = 0;
    let end = st.size - 1;
    if (m && (ifRange === undefined || ifRange === etag)) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), st.size - 1) : st.size - 1;
      if (start > end) {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${st.size}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${st.size}` });
    } else {
      res.writeHead(200, { ...headers, 'content-length': st.size });
    }
    const sock = req.socket;
    const p = pace.get(sock) ?? { t0: performance.now(), sent: 0 };
    pace.set(sock, p);
    const fd = fs.openSync(file, 'r');
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let pos = start;
    let open = true;
    const finish = () => {
      if (open) fs.closeSync(fd);
      open = false;
    };
    const pump = () => {
      while (pos <= end && open && !res.destroyed) {
        const allowed = (rate * (performance.now() - p.t0)) / 1000 + burst - p.sent;
        if (allowed < chunk.length && allowed < end + 1 - pos) {
          setTimeout(pump, Math.max(1, ((chunk.length - allowed) / rate) * 1000));
          return;
        }
        const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, end + 1 - pos), pos);
        pos += n;
        p.sent += n;
        if (!res.write(Buffer.from(chunk.subarray(0, n)))) {
          res.once('drain', pump);
          return;
        }
      }
      finish();
      if (!res.destroyed) res.end();
    };
    res.on('close', () => {
      pos = end + 1;
      finish();
    });
    pump();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port })));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root, rate] = process.argv.slice(2);
  if (!root || !rate) {
    process.stderr.write('usage: throttle-server ROOT BYTES_PER_SECOND\n');
    process.exit(2);
  }
  const { port } = await startThrottleServer(root, Number(rate));
  process.stdout.write(`listening on ${port}\n`);
}
