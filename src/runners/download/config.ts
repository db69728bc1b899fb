import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import type { KindSettings } from '../kind.js';
import { DOWNLOAD_DEFAULTS, type DownloadSettings } from './settings.js';

const duration = z.union([z.string(), z.number()]);

/** `worker.download` in drover.yaml; every key optional, defaults in DOWNLOAD_DEFAULTS. */
const downloadSchema = z
  .object({
    /** Partial downloads, one directory per job, kept across attempts. */
    tempdir: z.string().optional(),
    /** Download jobs at once on this worker. */
    workers: z.number().int().positive().optional(),
    connections: z.number().int().positive().max(256).optional(),
    /** Bytes; ranges are not split below this. */
    min_split: z.number().int().positive().optional(),
    max_connections: z.number().int().positive().optional(),
    per_host: z.number().int().positive().optional(),
    connect_timeout: duration.optional(),
    read_timeout: duration.optional(),
    /** Bytes/s; slower than this for `lowest_speed_time` fails the attempt. 0 = off. */
    lowest_speed: z.number().int().min(0).optional(),
    lowest_speed_time: duration.optional(),
    /** Bytes/s per job; 0 = unlimited. */
    speed_limit: z.number().int().min(0).optional(),
    max_redirects: z.number().int().min(0).optional(),
    retries: z.number().int().min(0).optional(),
    /** Partial downloads of jobs nobody retried are deleted after this, when the worker starts. */
    temp_keep: duration.optional(),
    /** A PEM file of CA certificates trusted for HTTPS besides Node's own list (a private CA). */
    ca_file: z.string().optional(),
  })
  .strict();

type DownloadConfig = z.infer<typeof downloadSchema>;

export const downloadSettings: KindSettings<DownloadSettings, DownloadConfig> = {
  schema: downloadSchema,
  resolve(d, worker, where) {
    const D = DOWNLOAD_DEFAULTS;
    const ms = (v: string | number | undefined, dflt: number, key: string) => (v === undefined ? dflt : parseDuration(v, `${where}.${key}`));
    return {
      destinations: worker.destinations,
      hosts: worker.hosts,
      tempDir: path.resolve(d.tempdir ?? D.tempDir),
      parallel: d.workers ?? D.parallel,
      connections: d.connections ?? D.connections,
      minSplit: d.min_split ?? D.minSplit,
      maxConnections: d.max_connections ?? D.maxConnections,
      perHost: d.per_host ?? D.perHost,
      connectTimeoutMs: ms(d.connect_timeout, D.connectTimeoutMs, 'connect_timeout'),
      readTimeoutMs: ms(d.read_timeout, D.readTimeoutMs, 'read_timeout'),
      lowestSpeed: d.lowest_speed ?? D.lowestSpeed,
      lowestSpeedWindowMs: ms(d.lowest_speed_time, D.lowestSpeedWindowMs, 'lowest_speed_time'),
      speedLimit: d.speed_limit ?? D.speedLimit,
      maxRedirects: d.max_redirects ?? D.maxRedirects,
      retries: d.retries ?? D.retries,
      tempKeepMs: ms(d.temp_keep, D.tempKeepMs, 'temp_keep'),
      ca: d.ca_file === undefined ? null : readCa(d.ca_file, `${where}.ca_file`),
    };
  },
};

function readCa(file: string, where: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${where}: ${file} holds no PEM certificate`);
  return pem;
}
