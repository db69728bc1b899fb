import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { onCleanup, tempDir, waitFor } from './tmp.js';

export const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  /** http://127.0.0.1:PORT — `/files/NAME` at full speed, `/slow/NAME` at `limitRate` per connection. */
  url: string;
  /** Body bytes nginx sent, per request logged so far (a request is logged when it ends). */
  sent(): Array<{ uri: string; status: number; bytes: number; range: string }>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A real nginx (Debian's package) serving `root`, with ranges, ETags and a rate-limited path. */
export async function startNginx(root: string, o: { limitRate?: string } = {}): Promise<Nginx> {
  const dir = tempDir('drover-nginx-');
  const port = await freePort();
  const log = path.join(dir, 'access.log');
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `user root;
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  log_format sent '$uri $status $body_bytes_sent "$http_range"';
  access_log ${log} sent;
  sendfile on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    location /files/ { alias ${root}/; }
    location /slow/ { alias ${root}/; limit_rate ${o.limitRate ?? '20m'}; }
  }
}
`,
  );
  const proc = spawn(NGINX, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  onCleanup(async () => {
    if (proc.exitCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGQUIT');
    setTimeout(() => proc.kill('SIGKILL'), 5_000).unref();
    await gone;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${err}`);
      return fetch(`${url}/files/`).then(
        () => true,
        () => false,
      );
    },
    10_000,
    'nginx to listen',
  );
  return {
    url,
    sent: () =>
      (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => {
          const [uri, status, bytes, ...range] = l.split(' ');
          return { uri: uri as string, status: Number(status), bytes: Number(bytes), range: range.join(' ').replace(/"/g, '') };
        }),
  };
}

/** A file of `size` bytes of pseudo-random content (not compressible, not all zeros). */
export function makeFile(file: string, size: number): void {
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  let seed = 12345;
  for (let i = 0; i < block.length; i += 4) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    block.writeUInt32LE(seed, i);
  }
  for (let off = 0, n = 0; off < size; off += block.length, n++) {
    block.writeUInt32LE(n, 0);
    fs.writeSync(fd, block, 0, Math.min(block.length, size - off));
  }
  fs.closeSync(fd);
}
