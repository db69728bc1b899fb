import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { tokensEqual } from '../core/tokens.js';

/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'drover_session';
/** The header a change made under the cookie must carry, with the session's CSRF token. */
export const CSRF_HEADER = 'x-drover-csrf';

export interface Session {
  /** The token signed in with: each request is checked with it again, so a revoked token ends its sessions. */
  bearer: string;
  csrf: string;
  expiresAt: number;
}

/**
 * The dashboard's sign-ins, in this coordinator's memory: an opaque id (the http-only cookie) →
 * the token it was made with and a CSRF token. A restart signs everyone out; behind a load
 * balancer over several coordinators, sign-in is per coordinator (make it sticky).
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly o: {
      clock: Clock;
      /** A session lasts this long, ms. Default 12 h. */
      ttlMs?: number;
      /** At most this many at once; the oldest go first. Default 10000. */
      max?: number;
    },
  ) {}

  get ttlMs(): number {
    return this.o.ttlMs ?? 12 * 3_600_000;
  }

  create(bearer: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const session = { bearer, csrf: randomBytes(24).toString('base64url'), expiresAt: this.o.clock.now() + this.ttlMs };
    this.sessions.set(id, session);
    // Map order is insertion order: the first key is the oldest session.
    while (this.sessions.size > (this.o.max ?? 10_000)) this.sessions.delete(this.sessions.keys().next().value as string);
    return { id, session };
  }

  /** The live session of this id, or null (unknown or expired, then forgotten). */
  get(id: string): Session | null {
    const s = this.sessions.get(id);
    if (!s) return null;
    if (s.expiresAt <= this.o.clock.now()) {
      this.sessions.delete(id);
      return null;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }
}

/** Whether `given` is the session's CSRF token (compared in constant time). */
export function csrfMatches(s: Session, given: string | string[] | undefined): boolean {
  return typeof given === 'string' && tokensEqual(given, s.csrf);
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieOf(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}
