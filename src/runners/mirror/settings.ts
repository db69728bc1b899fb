import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
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
}

const schema = z
  .object({
    dir: z.string().optional(),
    /** HOST:PORT, e.g. 0.0.0.0:8003; port 0 picks a free one. */
    listen: z.string().optional(),
    node: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'letters, digits and _ . : @ - only').optional(),
    url: z.string().url().optional(),
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
  resolve(raw, _worker, where) {
    const listen = raw.listen === undefined ? null : listenOf(raw.listen, where);
    if (listen !== null && raw.dir === undefined) throw new ConfigError(`${where}.listen: needs ${where}.dir, the tree to serve`);
    return { dir: raw.dir === undefined ? null : path.resolve(raw.dir), listen, node: raw.node ?? os.hostname(), url: raw.url ?? null };
  },
};
