import { Command } from 'commander';
import { loadClientToken } from '../coordinator/auth.js';
import { ApiClient } from '../client/api-client.js';
import { loadConfig, type LoadedConfig } from '../config/config.js';

/** Options every client command accepts. */
export interface ClientFlags {
  server?: string;
  tokenFile?: string;
  config?: string;
}

export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('--server <urls>', 'coordinator URL(s), comma-separated (default $DROVER_SERVER, else http://127.0.0.1:7070)')
    .option('--token-file <file>', 'file with the token (default $DROVER_TOKEN)')
    .option('--config <file>', 'config file (default $DROVER_CONFIG, else ./drover.yaml)');
}

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

export function serverOf(flags: { server?: string }, fallback = 'http://127.0.0.1:7070'): string {
  return flags.server ?? process.env.DROVER_SERVER ?? fallback;
}

export function clientOf(flags: ClientFlags): ApiClient {
  const { config } = configOf(flags);
  const token = tokenOf(flags, 'admin', config.server.token_file);
  return new ApiClient({ servers: serverOf(flags, `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${config.server.port}`), ...(token ? { token } : {}) });
}

/** Runs `fn` with a client and closes it after. */
export async function withClient<T>(flags: ClientFlags, fn: (api: ApiClient) => Promise<T>): Promise<T> {
  const api = clientOf(flags);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

/** `k=v` pairs from repeated --param flags. */
export function collectParam(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new Error(`--param ${value}: expected NAME=VALUE`);
  return { ...prev, [value.slice(0, i)]: value.slice(i + 1) };
}

export function collectList(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}
