/**
 * Tokens kept in the store (`drover token add`), beside the token file's two shared ones. A token
 * is `drv_` and 32 random bytes in base64url, shown once when it is made. The store keeps its
 * SHA-256 (enough for a secret of 256 random bits: nothing to brute-force, so no slow hash) and
 * its first characters as a non-secret id, to find the row and to name the token in logs.
 * Made and hashed by the coordinator (coordinator/access-tokens.ts): the store does no crypto.
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

export const ACCESS_TOKEN_PREFIX = 'drv_';
/** Characters of the random part that make the id: 60 bits, so ids of a store's tokens do not collide. */
const ID_CHARS = 10;
/** `drv_` and 32 bytes in base64url. */
const SHAPE = /^drv_[A-Za-z0-9_-]{43}$/;

/** The id of a bearer shaped like a store token, else null (then it is not looked up at all). */
export function accessTokenIdOf(bearer: string): string | null {
  return SHAPE.test(bearer) ? bearer.slice(0, ACCESS_TOKEN_PREFIX.length + ID_CHARS) : null;
}
