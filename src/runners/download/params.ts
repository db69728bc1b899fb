import type { Params } from '../../core/job.js';
import { redactUrlSecrets } from '../../core/redact-url.js';
import type { Collision } from '../shared/deliver.js';
import { DEFAULT_DESTINATION, parseDest, tooLong, type Dest } from '../shared/destination.js';
import { notPlainFileName } from '../shared/file-name.js';
import { paramReader } from '../shared/param-reader.js';

/** What a download job asks for, checked. Params are flat strings, numbers and booleans. */
export interface DownloadParams {
  url: URL;
  dest: Dest;
  /** A file name instead of the one from Content-Disposition or the URL. */
  filename: string | null;
  checksum: { algorithm: 'sha256' | 'sha1' | 'md5'; hex: string } | null;
  /** Extra request headers, from `headers` ("Name: value" lines). */
  headers: Record<string, string>;
  /** Connections for this file; null takes the worker's setting. */
  connections: number | null;
  collision: Collision;
  /** Bytes; larger downloads fail. */
  maxSize: number | null;
}

/** Every param a download job may have. */
export const DOWNLOAD_PARAMS = ['url', 'dest', 'filename', 'sha256', 'sha1', 'md5', 'headers', 'auth_user', 'auth_password', 'bearer', 'connections', 'collision', 'max_size'] as const;

/** Params whose values are secret: shown as `***` everywhere but to the worker. */
export const DOWNLOAD_SECRETS = ['auth_password', 'bearer', 'headers'];

/**
 * The secret params of these: DOWNLOAD_SECRETS given, and `url` when it carries a password
 * (`https://u:pw@host`) or a credential-looking query param (`?token=`, `access_token=`, `sig=`,
 * `X-Amz-Signature=`...): the rule by which ffmpeg's inputs and every message are redacted
 * (redactUrlSecrets), so what it would hide in a message is hidden in the job too.
 */
export function downloadSecretsOf(p: Params): string[] {
  const out = DOWNLOAD_SECRETS.filter((k) => p[k] !== undefined);
  if (typeof p.url === 'string' && (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(p.url) || redactUrlSecrets(p.url) !== p.url)) out.push('url');
  return out;
}

const HEX = { sha256: 64, sha1: 40, md5: 32 } as const;

/**
 * Checks a download job's params; used by the coordinator at enqueue (so a bad URL is a 400
 * naming the field) and by the worker before it starts. Errors name `params.FIELD`.
 */
export function parseDownloadParams(p: Params, field = 'params'): DownloadParams {
  const { fail, str } = paramReader(p, field);
  const raw = str('url') ?? fail('url', 'required: the http(s) URL to download');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not echoed: it may carry a password.
    return fail('url', 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('url', `only http and https are supported, not ${url.protocol.replace(':', '')}`);
  // user:password@ in the URL becomes basic auth (fetch does not send it), and leaves the URL.
  const userinfo = url.username || url.password ? { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : null;
  url.username = '';
  url.password = '';

  // Without one, the worker's `default` destination (./downloads unless its config names others).
  const dest = parseDest(str('dest') ?? DEFAULT_DESTINATION, field);
  // A name or path no filesystem takes fails here (a 400), not as ENAMETOOLONG on the worker.
  const long = tooLong(dest.subdir);
  if (long) fail('dest', long);

  const filename = str('filename') ?? null;
  const odd = filename === null ? null : notPlainFileName(filename);
  if (odd) fail('filename', odd);

  let checksum: DownloadParams['checksum'] = null;
  for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
    const v = str(algorithm);
    if (v === undefined) continue;
    if (checksum) fail(algorithm, 'give one checksum only');
    if (!new RegExp(`^[0-9a-fA-F]{${HEX[algorithm]}}$`).test(v)) fail(algorithm, `expected ${HEX[algorithm]} hex digits`);
    checksum = { algorithm, hex: v.toLowerCase() };
  }

  const headers: Record<string, string> = {};
  for (const line of (str('headers') ?? '').split('\n')) {
    if (line.trim() === '') continue;
    const i = line.indexOf(':');
    const k = line.slice(0, Math.max(0, i)).trim();
    if (i <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) fail('headers', 'each line must be "Name: value"');
    headers[k.toLowerCase()] = line.slice(i + 1).trim();
  }
  const user = str('auth_user');
  const password = str('auth_password');
  const bearer = str('bearer');
  if (bearer !== undefined && user !== undefined) fail('bearer', 'give either auth_user/auth_password or bearer');
  if (user !== undefined) headers.authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
  else if (userinfo && bearer === undefined) headers.authorization = `Basic ${Buffer.from(`${userinfo.user}:${userinfo.password}`).toString('base64')}`;
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;

  const int = (name: string, min: number, max: number): number | null => {
    const v = p[name];
    if (v === undefined) return null;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) fail(name, `an integer from ${min} to ${max}`);
    return n as number;
  };
  const collision = str('collision') ?? 'rename';
  if (collision !== 'rename' && collision !== 'overwrite' && collision !== 'skip') fail('collision', 'rename, overwrite or skip');
  return {
    url,
    dest,
    filename,
    checksum,
    headers,
    connections: int('connections', 1, 256),
    collision: collision as Collision,
    maxSize: int('max_size', 1, Number.MAX_SAFE_INTEGER),
  };
}
