import { DroverClient } from '../client/drover-client.js';
import { loadConfig, type LoadedConfig } from '../config/config.js';
import { loadClientToken } from '../core/tokens.js';
import { SERVER_DEFAULTS } from '../coordinator/defaults.js';
import { DEFAULT_SERVER_URL } from '../protocol/defaults.js';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import { readCaFile } from '../core/tls-files.js';
import { CLIENT_TIMEOUT, type ClientFlags } from './flags.js';

export function configOf(flags: { config?: string }): LoadedConfig {
  return loadConfig(flags.config);
}

/** The token for `role`: --token-file, then $DROVER_TOKEN, then the config's token file. */
export function tokenOf(flags: { tokenFile?: string }, role: 'admin' | 'worker', cfgTokenFile?: string): string | undefined {
  if (flags.tokenFile) return loadClientToken(flags.tokenFile, role);
  if (process.env.DROVER_TOKEN) return process.env.DROVER_TOKEN.trim();
  if (cfgTokenFile) return loadClientToken(cfgTokenFile, role);
  return undefined;
}

/** The CA to trust for https:// coordinators: --ca-file, then $DROVER_CA, then worker.ca_file; its PEM text. */
export function caOf(flags: { caFile?: string }, cfgCaFile?: string): string | undefined {
  const file = flags.caFile ?? process.env.DROVER_CA ?? cfgCaFile;
  if (!file) return undefined;
  return readCaFile(file, flags.caFile ? '--ca-file' : process.env.DROVER_CA ? 'DROVER_CA' : 'worker.ca_file');
}

/** --server, then $DROVER_SERVER, then `fallback`. */
export function serverOf(flags: { server?: string }, fallback = DEFAULT_SERVER_URL): string {
  return flags.server ?? process.env.DROVER_SERVER ?? fallback;
}

/** A client of the coordinator the flags, the environment and drover.yaml point at. */
export function clientOf(flags: ClientFlags): DroverClient {
  const { config } = configOf(flags);
  const token = tokenOf(flags, 'admin', config.server.token_file);
  // The coordinator of this drover.yaml, as this machine reaches it.
  const host = config.server.host ?? SERVER_DEFAULTS.host;
  const own = `${config.server.tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${config.server.port ?? SERVER_DEFAULTS.port}`;
  const ca = caOf(flags, config.worker.ca_file ?? undefined);
  const timeout = flags.timeout ?? process.env.DROVER_TIMEOUT ?? CLIENT_TIMEOUT;
  const requestTimeoutMs = parseDuration(timeout, flags.timeout !== undefined ? '--timeout' : 'DROVER_TIMEOUT');
  if (requestTimeoutMs <= 0) throw new ValidationError(`--timeout: must be more than 0, got "${timeout}"`);
  return new DroverClient({ server: serverOf(flags, own), ...(token ? { token } : {}), ...(ca ? { ca } : {}), requestTimeoutMs, onWarning: (w) => void process.stderr.write(`drover: warning: ${w}\n`) });
}

/** Runs `fn` with a client and closes it after. */
export async function withClient<T>(flags: ClientFlags, fn: (api: DroverClient) => Promise<T>): Promise<T> {
  const api = clientOf(flags);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}
