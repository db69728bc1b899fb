import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import client from 'prom-client';
import { isLoopback } from '../core/net.js';
import { ConfigError } from '../core/errors.js';
import { shellQuote } from '../supervise/command-line.js';
import type { ManagerState, ManagerStatus } from '../supervise/encoding-manager.js';

/** What the API shows of a running wrapper. */
export interface WrapperView {
  /** The last `n` lines of `-progress` output (all for 0), oldest first. */
  progressLines(n: number): string[];
  /** The last `n` lines of stdout and stderr (all for 0), oldest first. */
  outputLines(n: number): string[];
  startTime: Date;
  /** The command as run (with the progress arguments added), secrets hidden. */
  cmd(): string[];
  /** The wrapper's own pid. */
  pid: number;
  ffmpegPid(): number | null;
  /** Lines held in both ring buffers. */
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
  view: WrapperView;
}

/**
 * The seed's HTTP API: `/last_progress` and `/last_stdout` (`count`, default 20, 0 = all; `json`),
 * `/start_time`, `/cmd`, `/get_pid`, `/get_ffmpeg_pid`; plus `/status` (JSON) and `/metrics`
 * (Prometheus). Plain text unless `json` is given. Throws a ConfigError when it cannot listen.
 */
export async function startStatusApi(o: StatusApiOptions): Promise<{ app: FastifyInstance; url: string }> {
  if (!isLoopback(o.host) && !o.token) {
    throw new ConfigError(`API_HOST=${o.host} is not a loopback address: set API_TOKEN to a secret the API will ask for (Authorization: Bearer TOKEN), or listen on 127.0.0.1`);
  }
  const app = Fastify({ logger: false });
  const v = o.view;
  if (o.token) {
    const want = Buffer.from(`Bearer ${o.token}`);
    app.addHook('onRequest', async (req, reply) => {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== want.length || !timingSafeEqual(got, want)) await reply.code(401).send({ error: 'missing or wrong token (Authorization: Bearer API_TOKEN)' });
    });
  }
  const lines = (get: (n: number) => string[]) => async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Record<string, string | undefined>;
    const count = q.count === undefined || q.count === '' ? 20 : Number(q.count);
    if (!Number.isInteger(count) || count < 0) return reply.code(400).send({ error: `count must be a whole number of 0 or more (0 = all), got "${q.count}"` });
    const out = get(count);
    return wantsJson(q) ? out : reply.type('text/plain; charset=utf-8').send(out.length ? out.join('\n') + '\n' : '');
  };
  const value = (name: string, get: () => unknown, text: (x: unknown) => string = String) => async (req: FastifyRequest, reply: FastifyReply) => {
    const x = get();
    return wantsJson(req.query as Record<string, string | undefined>) ? { [name]: x } : reply.type('text/plain; charset=utf-8').send(`${x === null ? '' : text(x)}\n`);
  };
  app.get('/last_progress', lines((n) => v.progressLines(n)));
  app.get('/last_stdout', lines((n) => v.outputLines(n)));
  app.get('/start_time', value('start_time', () => v.startTime.toISOString()));
  app.get('/cmd', value('cmd', () => v.cmd(), (x) => (x as string[]).map(shellQuote).join(' ')));
  app.get('/get_pid', value('pid', () => v.pid));
  app.get('/get_ffmpeg_pid', value('ffmpeg_pid', () => v.ffmpegPid()));
  app.get('/status', async () => ({ pid: v.pid, ffmpegPid: v.ffmpegPid(), startTime: v.startTime.toISOString(), ...v.status() }));
  const registry = wrapperMetrics(v);
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    await app.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new ConfigError(`cannot listen on ${o.host}:${o.port}: the port is in use (set API_PORT or --port)`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new ConfigError(`API_HOST=${o.host}: no such local address`);
    throw new ConfigError(`cannot listen on ${o.host}:${o.port}: ${e.message}`);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return { app, url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}` };
}

/** `json`, `json=1`, `json=true` ask for JSON; `json=0` and `json=false` do not. */
function wantsJson(q: Record<string, string | undefined>): boolean {
  return q.json !== undefined && !['0', 'false', 'no'].includes(q.json.toLowerCase());
}

/** Gauges read from the view when scraped; no timers of their own (the supervisor stays idle). */
function wrapperMetrics(v: WrapperView): client.Registry {
  const registry = new client.Registry();
  const gauge = (name: string, help: string, get: (s: WrapperStatus) => number | null) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const x = get(v.status());
        if (x !== null) this.set(x);
        else this.reset();
      },
    });
  gauge('drover_ffmpeg_up', '1 while ffmpeg runs', (s) => (s.state === 'ended' ? 0 : 1));
  gauge('drover_ffmpeg_fps', 'Current frames per second (from recent progress blocks)', (s) => s.fps);
  gauge('drover_ffmpeg_speed', 'Current speed, media seconds per second', (s) => s.speed);
  gauge('drover_ffmpeg_output_bytes_per_second', 'Current output rate', (s) => s.bytesPerSec);
  gauge('drover_ffmpeg_frames', 'Frames written', (s) => s.frame);
  gauge('drover_ffmpeg_output_bytes', 'Bytes written', (s) => s.totalSize);
  gauge('drover_ffmpeg_media_seconds', 'Media time written', (s) => s.mediaSeconds);
  gauge('drover_ffmpeg_baseline_fps', 'The manager\'s baseline fps', (s) => s.baselineFps);
  gauge('drover_ffmpeg_failing', '1 while a problem holds or after the stream failed', (s) => (s.manager === 'failing' || s.manager === 'failed' ? 1 : 0));
  gauge('drover_wrapper_cpu_seconds', 'CPU used by the wrapper itself (user + system)', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  gauge('drover_wrapper_resident_bytes', 'Resident memory of the wrapper', () => process.memoryUsage.rss());
  gauge('drover_wrapper_buffered_lines', 'Lines held in the ring buffers', () => v.bufferedLines());
  return registry;
}
