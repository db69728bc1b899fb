import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { ConfigError, ValidationError } from '../core/errors.js';
import { DOWNLOAD_DEFAULTS, type DownloadSettings } from '../runners/download/settings.js';
import { MANAGER_DEFAULTS, type ManagerSettings } from '../supervise/encoding-manager.js';
import type { Rotation } from '../supervise/rotating-log.js';
import type { FfmpegSettings } from '../runners/ffmpeg/settings.js';
import { placeholdersOf } from './placeholders.js';

const duration = z.union([z.string(), z.number()]);
const paramSpec = z
  .object({
    type: z.enum(['string', 'integer', 'number', 'boolean']).default('string'),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    pattern: z.string().optional(),
    description: z.string().optional(),
  })
  .strict();

/** The seed's manager settings, by its variable names in lower case (ENCODING_MIN_SPEED → min_speed). */
const checksSchema = z
  .object({
    manager_start_delay: duration.optional(),
    check_start_delay: duration.optional(),
    /** false: no fps/speed checks (ENCODING_DISABLE_CHECK); hung and stall checks stay. */
    enabled: z.boolean().optional(),
    min_speed: z.number().min(0).optional(),
    delta_speed: z.number().min(0).optional(),
    delta_fps: z.number().min(0).optional(),
    max_error_time: duration.optional(),
    min_base_fps: z.number().min(0).optional(),
    max_stuck_time: duration.optional(),
    stall_time: duration.optional(),
  })
  .strict();

const rotationSchema = z
  .object({
    mode: z.enum(['days', 'size']).default('size'),
    days: z.number().positive().default(1),
    max_kbytes: z.number().positive().default(25_000),
    backups: z.number().int().min(0).default(5),
  })
  .strict();

const templateSchema = z
  .object({
    /** Runner kind. Default `exec`. */
    kind: z.string().default('exec'),
    /** The command as an argv array; `{param}` placeholders are filled per job. Never a shell. */
    argv: z.array(z.string()).min(1),
    /** Params shown as `***` everywhere but to the worker. */
    secrets: z.array(z.string()).default([]),
    /** Optional types, defaults and patterns of params. */
    params: z.record(z.string(), paramSpec).default({}),
    concurrency: z.object({ key: z.string(), limit: z.number().int().positive() }).strict().optional(),
    time_limit: duration.optional(),
    max_attempts: z.number().int().positive().optional(),
    backoff: duration.optional(),
    /** Output directory of a job below the worker's `output_root`. Default `{template}_{id}`. */
    outdir: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** Working directory of the command. Default: the job's output directory. */
    cwd: z.string().optional(),
    /** Grace between SIGTERM and SIGKILL when stopping. Default 10s. */
    kill_grace: duration.optional(),
    /** No output for this long stops the command (a no-output watchdog). Default: off. */
    stall_timeout: duration.optional(),
    /** Kind ffmpeg: a live recording, restarted with backoff when it fails or ends. */
    live: z.boolean().optional(),
    /** Kind ffmpeg: the manager's thresholds for this template, over the worker's. */
    checks: checksSchema.optional(),
  })
  .strict();

const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(7070),
    data: z.string().default('./drover-data'),
    db: z.string().optional(),
    token_file: z.string().optional(),
    lease_ttl: duration.default('30s'),
    heartbeat_interval: duration.default('10s'),
    max_body: z.number().int().positive().default(16 * 1024 * 1024),
    long_poll: duration.default('30s'),
    /** PostgreSQL: LISTEN/NOTIFY between coordinators; false polls instead (PgBouncer in transaction mode). */
    pg_listen: z.boolean().default(true),
    pg_pool_size: z.number().int().positive().default(10),
    /** How often long polls look again when no notification can reach them. */
    poll_interval: duration.default('1s'),
    /** Time limit of a download attempt when the job gives none (the seed's `time-limit`). */
    download_time_limit: duration.default('30m'),
    /** Finished jobs older than this are deleted with their logs; unset keeps them forever. */
    retention: duration.optional(),
  })
  .strict();

/** The `download` kind on a worker; defaults are DOWNLOAD_DEFAULTS (the seed's 10 downloads at once). */
const downloadSchema = z
  .object({
    /** Partial downloads, one directory per job, kept across attempts. */
    tempdir: z.string().default('./drover-data/download-tmp'),
    /** Download jobs at once on this worker. */
    workers: z.number().int().positive().default(DOWNLOAD_DEFAULTS.parallel),
    connections: z.number().int().positive().max(256).default(DOWNLOAD_DEFAULTS.connections),
    /** Bytes; ranges are not split below this. */
    min_split: z.number().int().positive().default(DOWNLOAD_DEFAULTS.minSplit),
    max_connections: z.number().int().positive().default(DOWNLOAD_DEFAULTS.maxConnections),
    per_host: z.number().int().positive().default(DOWNLOAD_DEFAULTS.perHost),
    connect_timeout: duration.default('15s'),
    read_timeout: duration.default('60s'),
    /** Bytes/s; slower than this for `lowest_speed_time` fails the attempt. 0 = off. */
    lowest_speed: z.number().int().min(0).default(0),
    lowest_speed_time: duration.default('30s'),
    /** Bytes/s per job; 0 = unlimited. */
    speed_limit: z.number().int().min(0).default(0),
    max_redirects: z.number().int().min(0).default(DOWNLOAD_DEFAULTS.maxRedirects),
    retries: z.number().int().min(0).default(DOWNLOAD_DEFAULTS.retries),
    /** Partial downloads of jobs nobody retried are deleted after this, when the worker starts. */
    temp_keep: duration.default('7d'),
    /** A PEM file of CA certificates trusted for HTTPS besides Node's own list (a private CA). */
    ca_file: z.string().optional(),
  })
  .strict();

/** The `ffmpeg` kind on a worker. */
const ffmpegSchema = z
  .object({
    binary: z.string().default('ffmpeg'),
    ffprobe: z.string().default('ffprobe'),
    checks: checksSchema.default({}),
    restart: z
      .object({
        backoff: duration.default('1s'),
        max_backoff: duration.default('15s'),
        stable_after: duration.default('30s'),
        max_restarts: z.number().int().min(0).default(10),
      })
      .strict()
      .default({ backoff: '1s', max_backoff: '15s', stable_after: '30s', max_restarts: 10 }),
  })
  .strict();

const workerSchema = z
  .object({
    name: z.string().optional(),
    server: z.string().default('http://127.0.0.1:7070'),
    concurrency: z.number().int().positive().optional(),
    queues: z.array(z.string()).default([]),
    output_root: z.string().default('./downloads'),
    log_dir: z.string().default('./drover-data/worker-logs'),
    shutdown_grace: duration.default('30s'),
    token_file: z.string().optional(),
    /** Named directories download jobs may write below, e.g. `archive: /mnt/archive`. */
    destinations: z.record(z.string(), z.string()).default({}),
    download: downloadSchema.default(downloadSchema.parse({})),
    /** Job log files (exec and ffmpeg) in log_dir. */
    log_rotation: rotationSchema.default(rotationSchema.parse({})),
    ffmpeg: ffmpegSchema.default(ffmpegSchema.parse({})),
  })
  .strict();

const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    worker: workerSchema.default(workerSchema.parse({})),
    templates: z.record(z.string(), templateSchema).default({}),
  })
  .strict();

export type RawTemplate = z.infer<typeof templateSchema>;
export type DroverConfig = z.infer<typeof configSchema>;
export type ParamSpec = z.infer<typeof paramSpec>;

/** A template with its durations in ms and its required params worked out. */
export interface Template {
  name: string;
  kind: string;
  argv: string[];
  secrets: string[];
  params: Record<string, ParamSpec>;
  /** Params that must be given: placeholders (argv, env, cwd, outdir, key) without a default. */
  required: string[];
  concurrency: { key: string; limit: number } | null;
  timeLimitMs: number | null;
  maxAttempts: number | null;
  backoffMs: number | null;
  outdir: string;
  env: Record<string, string>;
  cwd: string | null;
  killGraceMs: number;
  /** No-output watchdog, ms; null when off. */
  stallTimeoutMs: number | null;
  /** Kind ffmpeg: restarted with backoff when it fails or ends. */
  live: boolean;
  /** Kind ffmpeg: manager settings over the worker's. */
  checks: Partial<ManagerSettings>;
}

/** Placeholders Drover fills itself; a template may use them without a param. */
export const BUILTIN_PLACEHOLDERS = ['id', 'outdir', 'attempt', 'template', 'queue', 'owner'] as const;

export function compileTemplate(name: string, t: RawTemplate): Template {
  const where = `templates.${name}`;
  try {
    const texts = [...t.argv, ...Object.values(t.env), t.cwd ?? '', t.outdir ?? '', t.concurrency?.key ?? ''];
    const used = new Set<string>();
    for (const s of texts) for (const n of placeholdersOf(s)) used.add(n);
    for (const s of t.secrets) if (!used.has(s) && !(s in t.params)) throw new ValidationError(`${where}.secrets: "${s}" is not a placeholder of this template`);
    const builtins = new Set<string>(BUILTIN_PLACEHOLDERS);
    const required = [...used].filter((n) => !builtins.has(n) && t.params[n]?.default === undefined);
    for (const [pname, spec] of Object.entries(t.params)) {
      if (spec.pattern !== undefined) {
        try {
          new RegExp(spec.pattern);
        } catch {
          throw new ValidationError(`${where}.params.${pname}.pattern: not a valid regular expression`);
        }
      }
    }
    return {
      name,
      kind: t.kind,
      argv: t.argv,
      secrets: t.secrets,
      params: t.params,
      required,
      concurrency: t.concurrency ?? null,
      timeLimitMs: t.time_limit === undefined ? null : parseDuration(t.time_limit, `${where}.time_limit`),
      maxAttempts: t.max_attempts ?? null,
      backoffMs: t.backoff === undefined ? null : parseDuration(t.backoff, `${where}.backoff`),
      outdir: t.outdir ?? '{template}_{id}',
      env: t.env,
      cwd: t.cwd ?? null,
      killGraceMs: t.kill_grace === undefined ? 10_000 : parseDuration(t.kill_grace, `${where}.kill_grace`),
      stallTimeoutMs: t.stall_timeout === undefined ? null : positive(parseDuration(t.stall_timeout, `${where}.stall_timeout`), `${where}.stall_timeout`),
      live: t.live ?? false,
      checks: t.checks ? managerSettingsOf(t.checks, `${where}.checks`) : {},
    };
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(err.message.startsWith(where) ? err.message : `${where}: ${err.message}`);
    throw err;
  }
}

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

/** Default worker name: host name and process id, unique per process on a machine. */
export function defaultWorkerName(): string {
  return `${os.hostname()}-${process.pid}`;
}

/** The worker's named destinations, paths resolved. */
function destinationsOf(w: DroverConfig['worker']): Map<string, string> {
  return new Map(Object.entries(w.destinations).map(([k, v]) => [k, path.resolve(v)]));
}

/** The worker's download settings with paths resolved and durations in ms. */
export function downloadSettingsOf(w: DroverConfig['worker']): DownloadSettings {
  const d = w.download;
  return {
    destinations: destinationsOf(w),
    tempDir: path.resolve(d.tempdir),
    parallel: d.workers,
    connections: d.connections,
    minSplit: d.min_split,
    maxConnections: d.max_connections,
    perHost: d.per_host,
    connectTimeoutMs: parseDuration(d.connect_timeout, 'worker.download.connect_timeout'),
    readTimeoutMs: parseDuration(d.read_timeout, 'worker.download.read_timeout'),
    lowestSpeed: d.lowest_speed,
    lowestSpeedWindowMs: parseDuration(d.lowest_speed_time, 'worker.download.lowest_speed_time'),
    speedLimit: d.speed_limit,
    maxRedirects: d.max_redirects,
    retries: d.retries,
    tempKeepMs: parseDuration(d.temp_keep, 'worker.download.temp_keep'),
    ca: d.ca_file === undefined ? null : readCa(d.ca_file),
  };
}


/** The seed's names to the manager's; only the keys given. */
export function managerSettingsOf(c: z.infer<typeof checksSchema>, where: string): Partial<ManagerSettings> {
  const ms = (v: string | number | undefined, k: string) => (v === undefined ? undefined : parseDuration(v, `${where}.${k}`));
  const stuck = c.max_stuck_time === undefined ? undefined : positive(parseDuration(c.max_stuck_time, `${where}.max_stuck_time`), `${where}.max_stuck_time`);
  const out: Partial<ManagerSettings> = {
    startDelayMs: ms(c.manager_start_delay, 'manager_start_delay'),
    checkStartDelayMs: ms(c.check_start_delay, 'check_start_delay'),
    checkEnabled: c.enabled,
    minSpeed: c.min_speed,
    deltaSpeed: c.delta_speed,
    deltaFps: c.delta_fps,
    maxErrorMs: ms(c.max_error_time, 'max_error_time'),
    minBaseFps: c.min_base_fps,
    maxStuckMs: stuck,
    // Like ENCODING_MAX_STALL_TIME: the stuck time unless given.
    stallMs: c.stall_time === undefined ? stuck : positive(parseDuration(c.stall_time, `${where}.stall_time`), `${where}.stall_time`),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<ManagerSettings>;
}

function positive(ms: number, where: string): number {
  if (ms <= 0) throw new ConfigError(`${where}: must be more than 0`);
  return ms;
}

/** The worker's ffmpeg settings with durations in ms. */
export function ffmpegSettingsOf(w: DroverConfig['worker']): FfmpegSettings {
  const f = w.ffmpeg;
  const r = f.restart;
  return {
    ffmpeg: f.binary,
    ffprobe: f.ffprobe,
    manager: { ...MANAGER_DEFAULTS, ...managerSettingsOf(f.checks, 'worker.ffmpeg.checks') },
    restart: {
      backoffMs: parseDuration(r.backoff, 'worker.ffmpeg.restart.backoff'),
      maxBackoffMs: parseDuration(r.max_backoff, 'worker.ffmpeg.restart.max_backoff'),
      stableMs: parseDuration(r.stable_after, 'worker.ffmpeg.restart.stable_after'),
      maxRestarts: r.max_restarts,
    },
    destinations: destinationsOf(w),
    rotation: rotationOf(w),
  };
}

/** The worker's job log rotation. */
export function rotationOf(w: DroverConfig['worker']): Required<Rotation> {
  const r = w.log_rotation;
  return { mode: r.mode, days: r.days, maxBytes: Math.round(r.max_kbytes * 1024), backups: r.backups };
}

function readCa(file: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`worker.download.ca_file: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`worker.download.ca_file: ${file} holds no PEM certificate`);
  return pem;
}
