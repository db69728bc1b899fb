import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import type { TlsFiles } from '../../core/tls-files.js';
import type { KindSettings } from '../kind.js';

/** `worker.segments`: this worker's segment tree, its server and its node. */
export interface SegmentsSettings {
  /** The tree mirror jobs fill (absolute); null: this worker runs no mirror jobs. */
  dir: string | null;
  /** Serve the tree here (wubloader's restreamer routes); null: no server. */
  listen: { host: string; port: number } | null;
  /** The node name jobs use to reach this worker (`--node`). Default the host name. */
  node: string;
  /** The server's URL as peers reach it. Default from `listen` (the host name for 0.0.0.0). */
  url: string | null;
  /** Serve over HTTPS with these PEM files. Default none. */
  tls: TlsFiles | null;
  /** PEM certificates trusted for https:// peers (the worker's `ca_file`). */
  ca?: string;
}

const schema = z
  .object({
    dir: z.string().optional(),
    /** HOST:PORT, e.g. 0.0.0.0:8003; port 0 picks a free one. */
    listen: z.string().optional(),
    node: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'letters, digits and _ . : @ - only').optional(),
    url: z.string().url().optional(),
    tls: z.object({ cert: z.string(), key: z.string() }).strict().nullable().optional(),
  })
  .strict();

type SegmentsConfig = z.infer<typeof schema>;

function listenOf(v: string, where: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${where}.listen: expected HOST:PORT (e.g. 0.0.0.0:8003), got "${v}"`);
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

export const segmentsSettings: KindSettings<SegmentsSettings, SegmentsConfig> = {
  schema,
  resolve(raw, worker, where) {
    const listen = raw.listen === undefined ? null : listenOf(raw.listen, where);
    if (listen !== null && raw.dir === undefined) throw new ConfigError(`${where}.listen: needs ${where}.dir, the tree to serve`);
    if (raw.tls && listen === null) throw new ConfigError(`${where}.tls: needs ${where}.listen, the server it is for`);
    return { dir: raw.dir === undefined ? null : path.resolve(raw.dir), listen, node: raw.node ?? os.hostname(), url: raw.url ?? null, tls: raw.tls ?? null, ...(worker.ca ? { ca: worker.ca } : {}) };
  },
};
