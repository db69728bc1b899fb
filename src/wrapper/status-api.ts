import http from 'node:http';
import { ConfigError } from '../core/errors.js';
import { isLoopback } from '../core/net.js';
import type { ReloadableTls, TlsFiles } from '../core/tls-files.js';
import { shellQuote } from '../supervise/command-line.js';
import type { ManagerState, ManagerStatus } from '../supervise/encoding-manager.js';
import { linesJson, linesQuery, linesText, localTime } from './ff-wrapper-format.js';
import { metricsText } from './metrics-text.js';

/** What the API shows of a running wrapper. */
export interface WrapperView {
  /** The last `n` `-progress` blocks (all for 0), oldest first, as [epoch ms, key=value line]. */
  progressLines(n: number): Array<[number, string]>;
  /** The last `n` lines of stdout and stderr (all for 0), oldest first, as [epoch ms, line]. */
  outputLines(n: number): Array<[number, string]>;
  startTime: Date;
  /** The command as run (with the progress arguments added), secrets hidden. */
  cmd(): string[];
  /** The wrapper's own pid. */
  pid: number;
  ffmpegPid(): number | null;
  /** The container this runs in, '' outside one. */
  containerId: string;
  /** Lines held in both buffers. */
  bufferedLines(): number;
  status(): WrapperStatus;
}

/** `/status`: the manager's view (rates are current) with ffmpeg's own counters. */
export interface WrapperStatus extends Pick<ManagerStatus, 'baselineFps' | 'minFps' | 'minSpeed' | 'fps' | 'speed' | 'bytesPerSec' | 'problems'> {
  /** running, then stopping (a stop was asked or the manager failed the stream), then ended. */
  state: 'running' | 'stopping' | 'ended';
  /** The manager: starting, watching, checking, failing, failed; null when it is off. */
  manager: ManagerState | null;
  /** ffmpeg's own counters from the last block. */
  frame: number | null;
  totalSize: number | null;
  mediaSeconds: number | null;
  /** Why ffmpeg was stopped (low_fps, low_speed, stalled, hung...) or ended, or null. */
  failureReason: string | null;
  failure: string | null;
}

export interface StatusApiOptions {
  host: string;
  port: number;
  /** Bearer token asked for on every route; required beyond loopback. */
  token: string | null;
  /** HTTPS with these PEM files (API_TLS_CERT, API_TLS_KEY). Default none: HTTP. */
  tls?: TlsFiles | null;
  view: WrapperView;
}

const TLS_LABELS = { cert: 'API_TLS_CERT', key: 'API_TLS_KEY' };

type Answer = { status: number; type: string; body: string };
const text = (body: string, status = 200): Answer => ({ status, type: 'text/plain', body });
const json = (value: unknown): Answer => ({ status: 200, type: 'application/json; charset=utf-8', body: JSON.stringify(value) });

/**
 * FF WRAPPER's HTTP API, answered as it answers (see ff-wrapper-format.ts): `/last_stdout`,
 * `/last_progress` (`count`, default 20, 0 = all; `json`), `/start_time`, `/cmd`,
 * `/get_container_id`, `/get_pid`, `/get_ffmpeg_pid`, matched by prefix as it matches them; plus
 * Drover's `/status` (JSON) and `/metrics` (Prometheus). On node:http alone: one `drover run`
 * per container, a hundred per host, so no framework. Throws a ConfigError when it cannot listen.
 */
export async function startStatusApi(o: StatusApiOptions): Promise<{ server: http.Server; url: string; reloadTls(): void; close(): Promise<void> }> {
  if (!isLoopback(o.host) && !o.token) {
    throw new ConfigError(`API_HOST=${o.host} is not a loopback address: set API_TOKEN to a secret the API will ask for (Authorization: Bearer TOKEN), or listen on 127.0.0.1`);
  }
  const want = o.token ? Buffer.from(`Bearer ${o.token}`) : null;
  // Loaded only when a token is set (beyond loopback): the supervisor stays small.
  const { timingSafeEqual } = want ? await import('node:crypto') : { timingSafeEqual: null };
  // Loaded only for HTTPS, as the token check: the supervisor stays small.
  const tlsFiles = o.tls ? await import('../core/tls-files.js') : null;
  const handler: http.RequestListener = (req, res) => {
    const got = Buffer.from(req.headers.authorization ?? '');
    const a: Answer =
      want && timingSafeEqual && (got.length !== want.length || !timingSafeEqual(got, want))
        ? { status: 401, type: 'application/json; charset=utf-8', body: JSON.stringify({ error: 'missing or wrong token (Authorization: Bearer API_TOKEN)' }) }
        : req.method !== 'GET' && req.method !== 'HEAD'
          ? text('only GET\n', 405)
          : route(o.view, req.url ?? '/');
    res.writeHead(a.status, { 'content-type': a.type, 'content-length': Buffer.byteLength(a.body) });
    // HEAD (health checks such as `wget --spider`): the headers alone.
    res.end(req.method === 'HEAD' ? undefined : a.body);
  };
  let server: http.Server;
  try {
    server = o.tls && tlsFiles ? (await import('node:https')).createServer(tlsFiles.readTls(o.tls, TLS_LABELS), handler) : http.createServer(handler);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`API_TLS_CERT, API_TLS_KEY: the certificate and key cannot be used (${(err as Error).message}); do they go together?`);
  }
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new ConfigError(`cannot listen on ${o.host}:${o.port}: the port is in use (set API_PORT or --port)`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new ConfigError(`API_HOST=${o.host}: no such local address`);
    throw new ConfigError(`cannot listen on ${o.host}:${o.port}: ${e.message}`);
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    server,
    url: `${o.tls ? 'https' : 'http'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    reloadTls: () => {
      if (o.tls && tlsFiles) tlsFiles.reloadTls(server as unknown as ReloadableTls, o.tls, TLS_LABELS);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The answer to a GET of `url`: FF WRAPPER's routes by prefix, in its order; Drover's by name. */
function route(v: WrapperView, url: string): Answer {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? '' : url.slice(q + 1);
  if (path.startsWith('/last_stdout')) return lines(search, (n) => v.outputLines(n));
  if (path.startsWith('/last_progress')) return lines(search, (n) => v.progressLines(n));
  if (path.startsWith('/start_time')) return wantsJson(search) ? json({ start_time: localTime(v.startTime.getTime()) }) : text(localTime(v.startTime.getTime()));
  if (path.startsWith('/cmd')) return wantsJson(search) ? json({ cmd: v.cmd() }) : text(v.cmd().map(shellQuote).join(' '));
  if (path.startsWith('/get_container_id')) return text(v.containerId);
  if (path.startsWith('/get_pid')) return wantsJson(search) ? json({ pid: v.pid }) : text(String(v.pid));
  if (path.startsWith('/get_ffmpeg_pid')) {
    const pid = v.ffmpegPid();
    return wantsJson(search) ? json({ ffmpeg_pid: pid }) : text(pid === null ? '' : String(pid));
  }
  if (path === '/status') return json({ pid: v.pid, ffmpegPid: v.ffmpegPid(), startTime: v.startTime.toISOString(), ...v.status() });
  if (path === '/metrics') return { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: metricsText(v) };
  return { status: 404, type: 'application/json; charset=utf-8', body: JSON.stringify({ error: `no route ${path}` }) };
}

function lines(search: string, get: (n: number) => Array<[number, string]>): Answer {
  const q = linesQuery(search);
  if ('error' in q) return text(q.error, 400);
  const entries = get(q.count);
  return q.json ? { status: 200, type: 'text/json', body: linesJson(entries) } : text(linesText(entries));
}

/** Drover's JSON forms of the other routes: `json`, `json=1`, `json=true`; not `json=0`, `false` or `no` (FF WRAPPER's clients never ask). */
function wantsJson(search: string): boolean {
  return search.split('&').some((p) => p === 'json' || (p.startsWith('json=') && !['0', 'false', 'no'].includes(p.slice(5).toLowerCase())));
}
