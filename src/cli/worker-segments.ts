import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors.js';
import { isLoopback } from '../core/net.js';
import type { AgentOptions } from '../agent/agent.js';
import type { SegmentsSettings } from '../runners/registry.js';
import { mirrorMetrics } from '../segments/metrics.js';
import { startSegmentServer } from '../segments/server.js';
import { DroverClient } from '../client/drover-client.js';

/** What a worker's segment tree adds to it: its node and server for the coordinator, and the server to close. */
export interface WorkerSegments {
  agent: Pick<AgentOptions, 'node' | 'segments'>;
  close(): Promise<void>;
}

/**
 * With `worker.segments.dir`, the worker is a node; with `listen` too, it serves the tree
 * (wubloader's restreamer routes) to its fellow nodes, which send the worker token.
 */
export async function startWorkerSegments(kinds: ReadonlyMap<string, unknown>, token: string | undefined, log: Logger, coordinator?: { servers: string[]; ca?: string }): Promise<WorkerSegments> {
  const s = kinds.get('mirror') as SegmentsSettings | undefined;
  if (!s || s.dir === null) return { agent: {}, close: async () => undefined };
  if (s.listen === null) return { agent: { node: s.node }, close: async () => undefined };
  if (!isLoopback(s.listen.host) && !token) {
    throw new ConfigError(`worker.segments.listen: ${s.listen.host} reaches beyond this machine, and this worker has no token for its readers: give the worker the coordinator's worker token (worker.token_file or DROVER_TOKEN), or listen on 127.0.0.1`);
  }
  // Fellow workers may run with tokens of their own (drover token): the coordinator says whether it takes them.
  const api = token && coordinator ? new DroverClient({ server: coordinator.servers, token, ...(coordinator.ca ? { ca: coordinator.ca } : {}) }) : null;
  const verify = api ? (t: string) => api.checkToken(t) : undefined;
  const srv = await startSegmentServer({ dir: s.dir, host: s.listen.host, port: s.listen.port, logger: log, metrics: mirrorMetrics.registry, tls: s.tls, ...(verify ? { verify } : {}), ...(token ? { tokens: { admin: null, worker: token } } : {}) });
  // As peers reach it: a wildcard address is no address for another machine.
  const url = s.url ?? srv.url.replace(/\/\/(0\.0\.0\.0|\[::\])(?=:)/, `//${os.hostname()}`);
  return {
    agent: { node: s.node, segments: { url, channels: channelsOf(s.dir) } },
    close: async () => {
      await srv.close();
      await api?.close();
    },
  };
}

/** Channels are looked up again after this long, ms: the worker names them with every lease request. */
const CHANNELS_LOOK_MS = 10_000;

/** The channels of a segment tree (its visible directories; none while it does not exist), read at most every 10 s. */
function channelsOf(dir: string): () => string[] {
  let at = -Infinity;
  let last: string[] = [];
  return () => {
    if (Date.now() - at < CHANNELS_LOOK_MS) return last;
    at = Date.now();
    try {
      last = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
    } catch {
      last = [];
    }
    return last;
  };
}
