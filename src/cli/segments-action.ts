import fs from 'node:fs';
import client from 'prom-client';
import { ConfigError } from '../core/errors.js';
import { announce, createLogger } from '../core/logger.js';
import { collectProcessMetrics } from '../core/process-metrics.js';
import { loadServerTokens } from '../core/tokens.js';
import { SEGMENT_PORT, startSegmentServer } from '../segments/server.js';
import { onSignals } from './signals.js';

interface ServeFlags {
  host?: string;
  port?: string;
  tokenFile?: string;
  public?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  logFormat?: string;
}

export async function serveSegmentsAction(dir: string, f: ServeFlags): Promise<void> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ConfigError(`${dir}: no such directory (the tree's root: DIR/CHANNEL/QUALITY/HOUR/NAME.ts)`);
  const port = f.port === undefined ? SEGMENT_PORT : Number(f.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port: expected an integer from 0 to 65535, got "${f.port}"`);
  const log = createLogger('drover-segments', { format: f.logFormat });
  const loaded = f.tokenFile ? loadServerTokens(f.tokenFile) : null;
  if (loaded?.created) announce('drover-segments', f.logFormat, `created ${f.tokenFile} with new admin and worker tokens`);
  // The process's own figures at /metrics, as the restreamer has one (a worker's adds its mirror counters).
  const metrics = new client.Registry();
  collectProcessMetrics(metrics);
  if (Boolean(f.tlsCert) !== Boolean(f.tlsKey)) throw new ConfigError(`${f.tlsCert ? '--tls-key' : '--tls-cert'} is missing: HTTPS needs both --tls-cert and --tls-key`);
  const tls = f.tlsCert && f.tlsKey ? { cert: f.tlsCert, key: f.tlsKey } : null;
  const srv = await startSegmentServer({ dir, port, logger: log, metrics, tls, ...(f.host ? { host: f.host } : {}), ...(loaded ? { tokens: loaded.tokens } : {}), ...(f.public ? { public: true } : {}) });
  process.on('SIGHUP', () => {
    try {
      srv.reloadTls();
      if (tls) log.info({ cert: tls.cert }, 'TLS certificate reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'TLS certificate not reloaded; the one in use stays');
    }
  });
  onSignals(() => srv.close());
  announce('drover-segments', f.logFormat, `serving segments of ${dir} on ${srv.url}`);
}
