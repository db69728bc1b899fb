import { createHash, randomBytes } from 'node:crypto';

/**
 * Tokens kept in the store (`drover token add`), beside the token file's two shared ones. A token
 * is `drv_` and 32 random bytes in base64url, shown once when it is made. The store keeps its
 * SHA-256 (enough for a secret of 256 random bits: nothing to brute-force, so no slow hash) and
 * its first characters as a non-secret id, to find the row and to name the token in logs.
 */

/** What a store token may do: `admin` everything; `worker` the worker routes (and /metrics); `read` GET routes and /metrics. */
export type TokenRole = 'admin' | 'worker' | 'read';

export const TOKEN_ROLES: readonly TokenRole[] = ['admin', 'worker', 'read'];

/** A store token as it is shown: never the token, never its hash. */
export interface TokenInfo {
  /** Unique among the store's tokens; a worker token's name is the only worker name it may use. */
  name: string;
  role: TokenRole;
  /** The token's first characters (`drv_` and 10 more): not secret, in listings and logs. */
  id: string;
  /** Queues a worker token may lease from; empty: all. */
  queues: string[];
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; null: never expires. */
  expiresAt: number | null;
  /** Epoch ms of the last request made with it (recorded at most once a minute); null: never used. */
  lastUsedAt: number | null;
}

const PREFIX = 'drv_';
/** Characters of the random part that make the id: 60 bits, so ids of a store's tokens do not collide. */
const ID_CHARS = 10;
const SHAPE = /^drv_[A-Za-z0-9_-]{43}$/;

/** A new token: the secret to show once, its id and the hash to store. */
export function newAccessToken(): { secret: string; id: string; hash: string } {
  const secret = PREFIX + randomBytes(32).toString('base64url');
  return { secret, id: secret.slice(0, PREFIX.length + ID_CHARS), hash: hashAccessToken(secret) };
}

/** The id of a bearer shaped like a store token, else null (then it is not looked up at all). */
export function accessTokenIdOf(bearer: string): string | null {
  return SHAPE.test(bearer) ? bearer.slice(0, PREFIX.length + ID_CHARS) : null;
}

/** SHA-256 of the token, hex. */
export function hashAccessToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
