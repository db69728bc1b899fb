import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Tokens } from '../core/tokens.js';
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
