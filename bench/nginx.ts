import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  /** http://127.0.0.1:PORT — `/files/NAME` at full speed, `/slow/NAME` at `limitRate` per request. */
  url: string;
  /** The master's pid (its one worker is its child). */
  pid: number;
  /** Body bytes nginx sent, per request logged so far (a request is logged when it ends). */
  sent(): Array<{ uri: string; status: number; bytes: number; range: string }>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A real nginx (Debian's nginx-light) serving `root` with ranges and ETags, in a directory of
 * its own, on a free port. `/slow/` applies `limit_rate` (per request, as nginx does: the first
 * second's worth goes at once). `autoindex` lists directories under `/files/` as HTML;
 * `accessLog: false` logs no requests (`sent()` is then empty).
 */
export async function startNginx(root: string, o: { limitRate?: string; autoindex?: boolean; accessLog?: boolean } = {}): Promise<Nginx> {
  if (!fs.existsSync(NGINX)) throw new Error(`${NGINX} not found: apt-get install -y nginx-light`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-nginx-'));
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
  access_log ${o.accessLog === false ? 'off' : `${log} sent`};
  sendfile on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    location /files/ { alias ${root}/;${o.autoindex ? ' autoindex on;' : ''} }
    location /slow/ { alias ${root}/; limit_rate ${o.limitRate ?? '20m'}; }
  }
}
`,
  );
  const proc: ChildProcess = spawn(NGINX, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGQUIT');
      setTimeout(() => proc.kill('SIGKILL'), 5_000).unref();
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 10_000; ; ) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    if (await fetch(`${url}/files/`).then(() => true, () => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not listen on ${url}: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: proc.pid as number,
    stop,
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
