import { createHash, randomBytes } from 'node:crypto';
import { ACCESS_TOKEN_PREFIX, accessTokenIdOf, type TokenInfo, type TokenRole } from '../core/access-token.js';
import type { Clock } from '../core/clock.js';
import { NotFoundError } from '../core/errors.js';
import type { Job } from '../core/job.js';
import { tokensEqual } from '../core/tokens.js';
import type { NewTokenSpec } from '../protocol/token-messages.js';
import type { JobStore, StoredToken } from '../store/store.js';

/** Who a request's token says it is. */
export interface Principal {
  role: TokenRole;
  /** A store token's name: for a worker token the one worker name it may use. Null: the token file's (any name). */
  name: string | null;
  /** A store token's id, for logs; null for the token file's. */
  id: string | null;
  /** Queues a worker token may lease from; empty: all. */
  queues: string[];
}

export interface AccessTokensOptions {
  store: JobStore;
  clock: Clock;
  /** Jobs may have become claimable (a revoked worker's jobs went back to the queue). */
  notifyWork(): void;
  /** Ends the parents whose children have all ended (a revoked job asked to stop ended). */
  settleParents(ids: string[]): Promise<unknown>;
  /** A token's last use is written at most this often per token by this coordinator, ms. Default 60000. */
  touchEveryMs?: number;
}

const TOUCH_EVERY_MS = 60_000;

/**
 * The store's access tokens (`drover token`): made, listed, revoked and checked here, hashed
 * here (the store does no crypto). Not cached: each request with a store token reads its row (a
 * primary-key lookup), so a revocation on any coordinator of a shared database refuses the token
 * at its next request everywhere.
 */
export class AccessTokens {
  /** Per token id: when this coordinator last wrote its use. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly o: AccessTokensOptions) {}

  /** Makes a token; its secret is in the answer only, never stored. A ConflictError when the name is taken. */
  async create(spec: NewTokenSpec): Promise<{ token: TokenInfo; secret: string }> {
    const now = this.o.clock.now();
    const { secret, id, hash } = newAccessToken();
    const stored: StoredToken = { name: spec.name, role: spec.role, id, hash, queues: spec.role === 'worker' ? spec.queues : [], createdAt: now, expiresAt: spec.expiresInMs === null ? null : now + spec.expiresInMs, lastUsedAt: null };
    await this.o.store.addToken(stored);
    return { token: infoOf(stored), secret };
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.o.store.listTokens()).map(infoOf);
  }

  /**
   * Deletes the token; for a worker token, the jobs its worker holds go back to the queue (those
   * asked to stop end). Returns what it was and how many jobs were taken back.
   */
  async revoke(name: string): Promise<{ token: TokenInfo; released: number }> {
    const gone = await this.o.store.deleteToken(name);
    if (!gone) throw new NotFoundError(`no token ${name}`);
    this.touched.delete(gone.id);
    if (gone.role !== 'worker') return { token: infoOf(gone), released: 0 };
    const jobs = await this.o.store.revokeLeases({ worker: gone.name, now: this.o.clock.now() });
    await this.released(jobs);
    return { token: infoOf(gone), released: jobs.length };
  }

  /**
   * The principal of a bearer shaped like a store token; `expired` names the token that was
   * valid until `at`; null for anything else (unknown, revoked, wrong).
   */
  async authenticate(bearer: string): Promise<Principal | { expired: string; at: number } | null> {
    const id = accessTokenIdOf(bearer);
    if (id === null) return null;
    const t = await this.o.store.tokenById(id);
    // The id is not secret: the hash decides, compared in constant time.
    if (!t || !tokensEqual(hashAccessToken(bearer), t.hash)) return null;
    const now = this.o.clock.now();
    if (t.expiresAt !== null && now >= t.expiresAt) return { expired: t.name, at: t.expiresAt };
    await this.touch(t.id, now);
    return { role: t.role, name: t.name, id: t.id, queues: t.queues };
  }

  /** Whether a store token is still there (a long poll that began before a revocation asks before it hands out jobs). */
  async stillValid(p: Principal): Promise<boolean> {
    if (p.id === null) return true;
    const t = await this.o.store.tokenById(p.id);
    return t !== null && t.name === p.name && (t.expiresAt === null || this.o.clock.now() < t.expiresAt);
  }

  /** Writes the use at most once per touchEveryMs per token: a heartbeat every 10 s need not write each time. */
  private async touch(id: string, now: number): Promise<void> {
    const last = this.touched.get(id);
    if (last !== undefined && now - last < (this.o.touchEveryMs ?? TOUCH_EVERY_MS)) return;
    this.touched.set(id, now);
    // A failed write costs the request nothing: the next use writes again.
    await this.o.store.touchToken({ id, now }).catch(() => this.touched.delete(id));
  }

  private async released(jobs: Job[]): Promise<void> {
    if (jobs.some((j) => j.state === 'queued')) this.o.notifyWork();
    const parents = [...new Set(jobs.flatMap((j) => (j.state !== 'queued' && j.parentId ? [j.parentId] : [])))];
    if (parents.length > 0) await this.o.settleParents(parents);
  }
}

/** A new token: the secret to show once, its id (see accessTokenIdOf) and the hash to store. */
export function newAccessToken(): { secret: string; id: string; hash: string } {
  const secret = ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { secret, id: accessTokenIdOf(secret) as string, hash: hashAccessToken(secret) };
}

/** SHA-256 of the token, hex: a token of 256 random bits needs no slow hash. */
export function hashAccessToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What is shown of a token: never the hash. */
function infoOf(t: StoredToken): TokenInfo {
  return { name: t.name, role: t.role, id: t.id, queues: t.queues, createdAt: t.createdAt, expiresAt: t.expiresAt, lastUsedAt: t.lastUsedAt };
}
