import type { FastifyInstance } from 'fastify';
import { ROUTES } from '../protocol/routes.js';
import { ValidationError } from '../core/errors.js';
import { createTokenRequestOf, type CheckTokenAnswer, type CreatedTokenAnswer, type RevokedTokenAnswer, type TokensAnswer } from '../protocol/token-messages.js';
import { isWorkerToken } from './auth.js';
import type { HttpOptions } from './http-context.js';

/** Listing tokens is for admins only: read tokens read everything else. */
const adminOnly = { config: { role: 'admin' as const, readable: false } };

/** The access token routes (`drover token add|list|revoke`), admin only. Only HTTP here. */
export function registerTokenRoutes(app: FastifyInstance, o: HttpOptions): void {
  const t = o.coordinator.tokens;

  app.post(ROUTES.createToken.pattern, async (req, reply): Promise<CreatedTokenAnswer> => {
    const made = await t.create(createTokenRequestOf(req.body));
    reply.code(201);
    // Never kept by a cache between here and the client.
    reply.header('cache-control', 'no-store');
    return made;
  });

  app.get(ROUTES.tokens.pattern, adminOnly, async (): Promise<TokensAnswer> => ({ tokens: await t.list() }));

  app.delete(ROUTES.revokeToken.pattern, async (req): Promise<RevokedTokenAnswer> => t.revoke((req.params as { name: string }).name));

  // A worker's segment server asks about a fellow worker's token (they run with tokens of their own).
  app.post(ROUTES.checkToken.pattern, { config: { role: 'worker' as const } }, async (req, reply): Promise<CheckTokenAnswer> => {
    const token = (req.body as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) throw new ValidationError('token: required, a string of at most 512 characters', 'token');
    reply.header('cache-control', 'no-store');
    return { valid: await isWorkerToken({ tokens: o.tokens, access: t }, token) };
  });
}
