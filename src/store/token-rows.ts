import { TOKEN_ROLES, type TokenRole } from '../core/access-token.js';
import type { StoredToken } from './store.js';

/** A row of the `tokens` table (both backends; PostgreSQL's bigints may arrive as strings). */
export interface TokenRow {
  name: string;
  id: string;
  hash: string;
  role: string;
  queues: string;
  created_at: number | string;
  expires_at: number | string | null;
  last_used_at: number | string | null;
}

export const TOKEN_COLUMNS = ['name', 'id', 'hash', 'role', 'queues', 'created_at', 'expires_at', 'last_used_at'] as const;

export function rowToToken(r: TokenRow): StoredToken {
  return {
    name: r.name,
    id: r.id,
    hash: r.hash,
    // A role this version does not know (a newer Drover wrote it) grants the least.
    role: TOKEN_ROLES.includes(r.role as TokenRole) ? (r.role as TokenRole) : 'read',
    queues: JSON.parse(r.queues) as string[],
    createdAt: Number(r.created_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

/** The row's values in TOKEN_COLUMNS order. */
export function tokenValues(t: StoredToken): Array<string | number | null> {
  return [t.name, t.id, t.hash, t.role, JSON.stringify(t.queues), t.createdAt, t.expiresAt, t.lastUsedAt];
}
