import type tls from 'node:tls';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Tokens } from '../core/tokens.js';
import type { AuthLimits } from './auth-limiter.js';
import type { Coordinator } from './coordinator.js';

/** What the HTTP layer is built from. */
export interface HttpOptions {
  coordinator: Coordinator;
  tokens: Tokens;
  logger: Logger;
  /** Largest request body in bytes; larger gets 413. Default 16 MiB. */
  maxBodyBytes: number;
  /** A request (headers and body) must be wholly received within this, ms; else 408 and the socket closed. */
  requestTimeoutMs: number;
  /** HTTPS (HTTP/1.1 and HTTP/2) with these; absent: plain HTTP/1.1. */
  tls?: tls.SecureContextOptions;
  /** Proxies whose X-Forwarded-* headers are believed. */
  trustedProxies?: string[];
  /** For token expiry and the failed-authentication limit. Default the system clock. */
  clock?: Clock;
  /** Failed authentications per client address. Default AUTH_LIMITS: 10 a minute block it for a minute. */
  authLimits?: AuthLimits;
  version: string;
}

/** An AbortSignal that fires when the client of this request goes away before the reply. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}
