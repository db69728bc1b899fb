import { timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from './errors.js';
import { newToken } from './ids.js';

/**
 * Who may call a route: anyone; any token (`read`: /metrics); a worker (or admin); or an admin
 * only (and a store `read` token, for GET routes: see coordinator/auth.ts).
 */
export type Role = 'public' | 'read' | 'worker' | 'admin';

/** The coordinator's tokens. Both null: no auth (allowed on loopback only). */
export interface Tokens {
  admin: string | null;
  worker: string | null;
}

export const NO_TOKENS: Tokens = { admin: null, worker: null };

export function authEnabled(t: Tokens): boolean {
  return t.admin !== null || t.worker !== null;
}

/** Whether two secrets are equal, in time that tells nothing of where they differ. */
export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a bearer token of the token file grants `role`. The admin token grants every role, the worker token `worker` and `read`. */
export function allows(tokens: Tokens, role: Role, bearer: string | undefined): boolean {
  if (role === 'public' || !authEnabled(tokens)) return true;
  if (bearer === undefined) return false;
  if (tokens.admin !== null && tokensEqual(bearer, tokens.admin)) return true;
  return (role === 'worker' || role === 'read') && tokens.worker !== null && tokensEqual(bearer, tokens.worker);
}

/**
 * Reads the server's token file: YAML `admin: TOKEN` and `worker: TOKEN`. When the file does not
 * exist it is created with two random tokens, readable by its owner only.
 */
export function loadServerTokens(file: string): { tokens: Tokens; created: boolean } {
  if (!fs.existsSync(file)) {
    const tokens = { admin: newToken(24), worker: newToken(24) };
    try {
      fs.writeFileSync(file, `# Drover tokens. Clients: DROVER_TOKEN or --token-file.\nadmin: ${tokens.admin}\nworker: ${tokens.worker}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      throw new ConfigError(`cannot create token file ${file}: ${(err as Error).message}`);
    }
    return { tokens, created: true };
  }
  const parsed = readTokenFile(file);
  if (typeof parsed === 'string') return { tokens: { admin: parsed, worker: null }, created: false };
  if (!parsed.admin && !parsed.worker) throw new ConfigError(`token file ${file}: expected "admin: TOKEN" and/or "worker: TOKEN"`);
  return { tokens: { admin: parsed.admin ?? null, worker: parsed.worker ?? null }, created: false };
}

/**
 * A client's token from a file: either a bare token, or the server's YAML file, from which the
 * entry for `role` is taken (admin for the CLI, worker for `drover worker`).
 */
export function loadClientToken(file: string, role: 'admin' | 'worker'): string {
  const parsed = readTokenFile(file);
  if (typeof parsed === 'string') return parsed;
  const t = parsed[role] ?? (role === 'worker' ? parsed.admin : undefined);
  if (!t) throw new ConfigError(`token file ${file} has no "${role}" token`);
  return t;
}

function readTokenFile(file: string): string | { admin?: string; worker?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read token file ${file}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (!trimmed.includes(':')) {
    if (!/^\S+$/.test(trimmed)) throw new ConfigError(`token file ${file}: expected one token, or "admin: TOKEN" / "worker: TOKEN" lines`);
    return trimmed;
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch {
    throw new ConfigError(`token file ${file}: not valid YAML`);
  }
  if (typeof doc !== 'object' || doc === null) throw new ConfigError(`token file ${file}: expected "admin: TOKEN" and/or "worker: TOKEN"`);
  const d = doc as Record<string, unknown>;
  const pick = (k: string) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : undefined);
  return { admin: pick('admin'), worker: pick('worker') };
}
