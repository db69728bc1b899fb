import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { AGENT_DEFAULTS } from '../agent/defaults.js';
import { SERVER_DEFAULTS } from '../coordinator/defaults.js';
import { parseDuration } from '../core/duration.js';
import { ConfigError, ValidationError } from '../core/errors.js';
import type { WorkerSetup } from '../runners/kind.js';
import { KIND_MODULES } from '../runners/registry.js';
import type { Template } from '../runners/template.js';
import { HostGuard } from '../core/host-guard.js';
import type { TlsFiles } from '../coordinator/tls.js';
import { readCaFile } from '../core/tls-files.js';
import { ROTATION_DEFAULTS } from '../supervise/rotating-log.js';
import { compileTemplate, templateSchema } from './templates.js';

/**
 * drover.yaml. Every key is optional and every default lives with the part it belongs to
 * (SERVER_DEFAULTS, AGENT_DEFAULTS, ROTATION_DEFAULTS, each kind's `*_DEFAULTS`): the schema only
 * checks forms, the `*Of` functions below fill what is missing. `worker.<kind>` sections and the
 * server's per-kind time limits come from the kind modules (src/runners/registry.ts).
 */
const duration = z.union([z.string(), z.number()]);

const rotationSchema = z
  .object({
    mode: z.enum(['days', 'size']).optional(),
    days: z.number().positive().optional(),
    max_kbytes: z.number().positive().optional(),
    backups: z.number().int().min(0).optional(),
  })
  .strict();

/** `server.<kind>_time_limit` keys (e.g. download_time_limit), one per kind module that has one. */
const kindTimeLimitKeys = Object.fromEntries(KIND_MODULES.flatMap((m) => (m.timeLimit ? [[m.timeLimit.serverKey, duration.optional()]] : [])));

const serverSchema = z
  .object({
    host: z.string().optional(),
    port: z.number().int().min(0).max(65535).optional(),
    data: z.string().optional(),
    db: z.string().optional(),
    token_file: z.string().optional(),
    lease_ttl: duration.optional(),
    heartbeat_interval: duration.optional(),
    max_body: z.number().int().positive().optional(),
    long_poll: duration.optional(),
    /** Open client connections at most; more are closed at once (never above the open-file limit less 256). */
    max_connections: z.number().int().positive().optional(),
    /** Long polls (lease, stops, logs, job waits) waiting at once; more get 429. */
    max_long_polls: z.number().int().positive().optional(),
    /** Lease and stop long polls of one worker at once; more get 429. */
    max_long_polls_per_worker: z.number().int().positive().optional(),
    /** PostgreSQL: LISTEN/NOTIFY between coordinators; false polls instead (PgBouncer in transaction mode). */
    pg_listen: z.boolean().optional(),
    pg_pool_size: z.number().int().positive().optional(),
    /** How often long polls look again when no notification can reach them. */
    poll_interval: duration.optional(),
    /** Finished jobs older than this are deleted with their logs; unset keeps them forever. */
    retention: duration.optional(),
    /** HTTPS (HTTP/1.1 and HTTP/2) with these PEM files (drover tls init makes them). */
    tls: z.object({ cert: z.string(), key: z.string(), client_ca: z.string().nullable().optional() }).strict().nullable().optional(),
    /** Listen beyond loopback without TLS: a TLS-terminating proxy is in front. */
    insecure_http: z.boolean().optional(),
    /** A text search index for the dashboard's and the API's `q` (space and enqueue time for speed on large stores); null: the store's default. */
    search_index: z.boolean().nullable().optional(),
    /** New jobs are refused (507) while the SQLite database's disk has less free than this, MiB. */
    disk_reserve_mb: z.number().min(0).optional(),
    /** The proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDR). */
    trusted_proxies: z.array(z.string()).optional(),
    /** The key secret params are encrypted with in the store (created 0600 at first start). Default DATA/secret.key. */
    secret_key_file: z.string().nullable().optional(),
    ...kindTimeLimitKeys,
  })
  .strict();

/** `worker.<kind>` sections, one per kind module with settings. */
const kindSections = Object.fromEntries(KIND_MODULES.flatMap((m) => (m.settings ? [[m.settingsKey ?? m.name, m.settings.schema.optional()]] : [])));

const workerSchema = z
  .object({
    name: z.string().optional(),
    server: z.string().optional(),
    concurrency: z.number().int().positive().optional(),
    queues: z.array(z.string()).optional(),
    output_root: z.string().optional(),
    log_dir: z.string().optional(),
    shutdown_grace: duration.optional(),
    token_file: z.string().optional(),
    /** PEM certificates trusted for an https:// coordinator besides Node's (a private CA: drover tls init's ca.crt). */
    ca_file: z.string().nullable().optional(),
    /** Mutual TLS: this worker's client certificate and key (PEM; drover tls client makes them), shown to a coordinator with server.tls.client_ca. */
    client_cert: z.string().nullable().optional(),
    client_key: z.string().nullable().optional(),
    /** Named directories jobs may write below, e.g. `archive: /mnt/archive`. */
    destinations: z.record(z.string(), z.string()).optional(),
    /** Job log files (exec and ffmpeg) in log_dir. */
    log_rotation: rotationSchema.optional(),
    /** Hosts downloads and ffmpeg inputs may reach: CIDR ranges, addresses, names, loopback/private/link-local. Default all. */
    allow_hosts: z.array(z.string()).optional(),
    deny_hosts: z.array(z.string()).optional(),
    ...kindSections,
  })
  .strict();

const configSchema = z
  .object({
    server: serverSchema.default({}),
    worker: workerSchema.default({}),
    templates: z.record(z.string(), templateSchema).default({}),
    /** Recurring jobs, by name; checked in full by the coordinator (`Schedules`). */
    schedules: z
      .record(
        z.string(),
        z
          .object({
            every: z.union([z.string(), z.number()]).optional(),
            cron: z.string().optional(),
            timezone: z.string().optional(),
            paused: z.boolean().optional(),
            job: z.record(z.string(), z.unknown()),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();

export type DroverConfig = z.infer<typeof configSchema>;
type ServerConfig = DroverConfig['server'];
type WorkerConfig = DroverConfig['worker'];

export interface LoadedConfig {
  config: DroverConfig;
  templates: Map<string, Template>;
  /** The file it came from, or null when none was found (all defaults). */
  file: string | null;
}

/**
 * Finds the config: `explicit` (from --config), then `$DROVER_CONFIG`, then `./drover.yaml`.
 * A named file that is missing is an error; a missing `./drover.yaml` means defaults.
 */
export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LoadedConfig {
  const named = explicit ?? env.DROVER_CONFIG;
  const file = named ? path.resolve(cwd, named) : path.join(cwd, 'drover.yaml');
  let text: string | null = null;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (named || code !== 'ENOENT') throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  if (text === null) return { config: configSchema.parse({}), templates: new Map(), file: null };
  return { ...parseConfig(text, file), file };
}

export function parseConfig(text: string, file = 'drover.yaml'): { config: DroverConfig; templates: Map<string, Template> } {
  let raw: unknown;
  try {
    raw = YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new ConfigError(`${file}: ${msgs.join('; ')}`);
  }
  const templates = new Map<string, Template>();
  for (const [name, t] of Object.entries(parsed.data.templates)) templates.set(name, compileTemplate(name, t));
  return { config: parsed.data, templates };
}

/** The coordinator's settings from `server:`, durations in ms; what is not set is left to SERVER_DEFAULTS. */
export interface ServerSettings {
  host: string;
  port: number;
  dataDir: string;
  db: string | undefined;
  tokenFile: string | undefined;
  /** `server.secret_key_file` as given; unset: DATA/secret.key (defaultSecretKeyFile). */
  secretKeyFile: string | undefined;
  leaseTtlMs: number | undefined;
  heartbeatIntervalMs: number | undefined;
  maxBodyBytes: number | undefined;
  maxLongPollMs: number | undefined;
  maxConnections: number | undefined;
  maxLongPolls: number | undefined;
  maxLongPollsPerWorker: number | undefined;
  pollMs: number | undefined;
  retentionMs: number | null;
  pg: { poolSize?: number; listen?: boolean };
  /** Per kind, when the config sets it (e.g. `download_time_limit`). */
  kindTimeLimitsMs: Record<string, number>;
  /** `server.tls`, paths as given. */
  tls: TlsFiles | undefined;
  insecureHttp: boolean;
  trustedProxies: string[];
  /** `server.search_index`: true, false (a store that has the index loses it), or 'default' (on SQLite on, on PostgreSQL off). */
  searchIndex: boolean | 'default';
  /** MiB kept free on a SQLite database's disk: new jobs are refused below it. */
  diskReserveMb: number;
}

export function serverSettingsOf(s: ServerConfig): ServerSettings {
  const ms = (v: string | number | undefined, key: string) => (v === undefined ? undefined : parseDuration(v, `server.${key}`));
  // Durations that cannot be 0: a lease void at once, polls without a pause, a limit hit at start.
  const above0 = (v: string | number | undefined, key: string) => {
    const n = ms(v, key);
    if (n === 0) throw new ConfigError(`server.${key}: must be more than 0`);
    return n;
  };
  return withConfigErrors(() => {
    const kindTimeLimitsMs: Record<string, number> = {};
    for (const m of KIND_MODULES) {
      const v = m.timeLimit ? (s as Record<string, string | number | undefined>)[m.timeLimit.serverKey] : undefined;
      if (m.timeLimit && v !== undefined) kindTimeLimitsMs[m.name] = above0(v, m.timeLimit.serverKey) as number;
    }
    return {
      host: s.host ?? SERVER_DEFAULTS.host,
      port: s.port ?? SERVER_DEFAULTS.port,
      dataDir: s.data ?? SERVER_DEFAULTS.dataDir,
      db: s.db,
      tokenFile: s.token_file,
      secretKeyFile: s.secret_key_file ?? undefined,
      leaseTtlMs: above0(s.lease_ttl, 'lease_ttl'),
      heartbeatIntervalMs: above0(s.heartbeat_interval, 'heartbeat_interval'),
      maxBodyBytes: s.max_body,
      maxLongPollMs: ms(s.long_poll, 'long_poll'),
      maxConnections: s.max_connections,
      maxLongPolls: s.max_long_polls,
      maxLongPollsPerWorker: s.max_long_polls_per_worker,
      pollMs: above0(s.poll_interval, 'poll_interval'),
      retentionMs: ms(s.retention, 'retention') ?? null,
      pg: { ...(s.pg_pool_size === undefined ? {} : { poolSize: s.pg_pool_size }), ...(s.pg_listen === undefined ? {} : { listen: s.pg_listen }) },
      kindTimeLimitsMs,
      tls: s.tls ? { cert: s.tls.cert, key: s.tls.key, ...(s.tls.client_ca ? { clientCa: s.tls.client_ca } : {}) } : undefined,
      insecureHttp: s.insecure_http ?? false,
      trustedProxies: s.trusted_proxies ?? [],
      searchIndex: s.search_index ?? 'default',
      diskReserveMb: s.disk_reserve_mb ?? SERVER_DEFAULTS.diskReserveMb,
    };
  });
}

/** A worker's settings from `worker:`, paths resolved, durations in ms, every default filled. */
export interface WorkerSettings {
  name: string | undefined;
  server: string;
  concurrency: number | undefined;
  queues: string[];
  outputRoot: string;
  logDir: string;
  shutdownGraceMs: number;
  tokenFile: string | undefined;
  /** `worker.ca_file`, as given. */
  caFile: string | undefined;
  /** `worker.client_cert` and `client_key`, as given (both or neither). */
  clientCert: { cert: string; key: string } | undefined;
  setup: WorkerSetup;
  /** Each kind's own settings (`worker.<kind>`), resolved by its module. */
  kinds: Map<string, unknown>;
}

export function workerSettingsOf(w: WorkerConfig): WorkerSettings {
  return withConfigErrors(() => {
    const r = w.log_rotation ?? {};
    const setup: WorkerSetup = {
      destinations: new Map(Object.entries(w.destinations ?? AGENT_DEFAULTS.destinations).map(([k, v]) => [k, path.resolve(v)])),
      rotation: {
        mode: r.mode ?? ROTATION_DEFAULTS.mode,
        days: r.days ?? ROTATION_DEFAULTS.days,
        maxBytes: r.max_kbytes === undefined ? ROTATION_DEFAULTS.maxBytes : Math.round(r.max_kbytes * 1024),
        backups: r.backups ?? ROTATION_DEFAULTS.backups,
      },
      hosts: new HostGuard({ allow: w.allow_hosts ?? [], deny: w.deny_hosts ?? [] }),
      ...(w.ca_file ? { ca: readCaFile(w.ca_file, 'worker.ca_file') } : {}),
    };
    const sections = w as Record<string, unknown>;
    const kinds = new Map<string, unknown>();
    for (const m of KIND_MODULES) {
      const key = m.settingsKey ?? m.name;
      if (m.settings) kinds.set(m.name, m.settings.resolve(sections[key] ?? {}, setup, `worker.${key}`));
    }
    return {
      name: w.name,
      server: w.server ?? AGENT_DEFAULTS.server,
      concurrency: w.concurrency,
      queues: w.queues ?? [],
      outputRoot: path.resolve(w.output_root ?? AGENT_DEFAULTS.outputRoot),
      logDir: path.resolve(w.log_dir ?? AGENT_DEFAULTS.logDir),
      shutdownGraceMs: w.shutdown_grace === undefined ? AGENT_DEFAULTS.shutdownGraceMs : parseDuration(w.shutdown_grace, 'worker.shutdown_grace'),
      tokenFile: w.token_file,
      caFile: w.ca_file ?? undefined,
      clientCert: clientCertOf(w.client_cert ?? undefined, w.client_key ?? undefined),
      setup,
      kinds,
    };
  });
}

/** A bad value found while resolving (a duration, a file) stops the start with a ConfigError naming it. */
function withConfigErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(err.message);
    throw err;
  }
}

function clientCertOf(cert: string | undefined, key: string | undefined): { cert: string; key: string } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new ConfigError(`worker.${cert ? 'client_key' : 'client_cert'}: needed with worker.${cert ? 'client_cert' : 'client_key'} (a client certificate and its key)`);
  return { cert, key };
}
