import { TOKEN_ROLES, type TokenInfo, type TokenRole } from '../core/access-token.js';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';

/** The bodies of the token routes (`drover token`), admin only. */

/** `POST /api/v1/tokens`. */
export interface CreateTokenRequest {
  /** Letters, digits and _ . : @ -, at most 128; a worker token's name is its worker's name. */
  name: string;
  role: TokenRole;
  /** Worker tokens only: the queues it may lease from. Default all. */
  queues?: string[];
  /** How long it is valid from now: a duration (`90d`, `12h`) or seconds. Default: it never expires. */
  expires?: string | number | null;
}

export interface CreatedTokenAnswer {
  token: TokenInfo;
  /** The token itself: in this answer only, never again. */
  secret: string;
}

export interface TokensAnswer {
  tokens: TokenInfo[];
}

/** `POST /api/v1/tokens/check` (worker role): whether a token a peer sent is a worker's or an admin's, for a worker's segment server. */
export interface CheckTokenRequest {
  token: string;
}
export interface CheckTokenAnswer {
  valid: boolean;
}

export interface RevokedTokenAnswer {
  token: TokenInfo;
  /** Running jobs its worker held, given back to the queue (or ended, when asked to stop). */
  released: number;
}

/** A token to make, checked. */
export interface NewTokenSpec {
  name: string;
  role: TokenRole;
  /** Empty: all queues (and always empty but for worker tokens). */
  queues: string[];
  /** From now, ms; null: never expires. */
  expiresInMs: number | null;
}

const NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;
const FIELDS = ['name', 'role', 'queues', 'expires'];

/** Checks a CreateTokenRequest; a ValidationError names the field. */
export function createTokenRequestOf(body: unknown): NewTokenSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body: expected {"name", "role", "queues", "expires"}', 'body');
  const b = body as Record<string, unknown>;
  if ('' in b) throw new ValidationError('body: a field without a name', 'body');
  for (const k of Object.keys(b)) if (!FIELDS.includes(k)) throw new ValidationError(`${k}: unknown field of a token (it has ${FIELDS.join(', ')})`, k);
  if (typeof b.name !== 'string' || !NAME.test(b.name)) throw new ValidationError('name: letters, digits and _ . : @ - only, at most 128', 'name');
  if (typeof b.role !== 'string' || !TOKEN_ROLES.includes(b.role as TokenRole)) throw new ValidationError(`role: one of ${TOKEN_ROLES.join(', ')}`, 'role');
  const role = b.role as TokenRole;
  let queues: string[] = [];
  if (b.queues !== undefined && b.queues !== null) {
    if (!Array.isArray(b.queues) || b.queues.some((q) => typeof q !== 'string' || !NAME.test(q))) throw new ValidationError('queues: a list of queue names (letters, digits and _ . : @ - only, at most 128)', 'queues');
    queues = [...new Set(b.queues as string[])];
    if (queues.length > 0 && role !== 'worker') throw new ValidationError('queues: only a worker token is limited to queues', 'queues');
  }
  let expiresInMs: number | null = null;
  if (b.expires !== undefined && b.expires !== null) {
    if (typeof b.expires !== 'string' && typeof b.expires !== 'number') throw new ValidationError('expires: a duration such as 90d or 12h, or seconds', 'expires');
    expiresInMs = parseDuration(b.expires, 'expires');
    if (expiresInMs <= 0 || !Number.isSafeInteger(expiresInMs)) throw new ValidationError('expires: must be more than 0', 'expires');
  }
  return { name: b.name, role, queues, expiresInMs };
}
