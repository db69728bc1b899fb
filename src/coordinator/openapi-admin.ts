import { ADMIN, ANY, ignored, int, list, obj, PUBLIC, READ, str, type Operations } from './openapi-kit.js';
import { ref } from './openapi-schemas.js';

/** Health, metrics and this document; tokens and queues; the dashboard's sign-in. */

const queue = { description: 'The queue as it is now', schema: obj({ queue: ref('QueueView') }) };

export const ADMIN_OPERATIONS = {
  health: {
    tag: 'service',
    summary: 'Liveness, and room on the storage',
    tokens: PUBLIC,
    noStore: true,
    ok: { 200: { description: 'Up; `storage`: a SQLite database\'s disk against its reserve', schema: obj({ ok: { type: 'boolean' }, version: str, storage: ref('StorageStatus') }, ['ok', 'version']) } },
    errors: { 507: 'Up, but refusing new jobs: the SQLite database\'s disk is under its free-space reserve' },
  },
  metrics: { tag: 'service', summary: 'Prometheus metrics', tokens: ANY, ok: { 200: { description: 'The text exposition format', media: 'text/plain', schema: str } } },
  openapi: { tag: 'service', summary: 'This document', tokens: PUBLIC, noStore: true, ok: { 200: { description: 'OpenAPI 3.1', schema: { type: 'object' } } } },
  tokens: { tag: 'admin', summary: 'The access tokens: names, roles, queues, expiry, last use; never the tokens', tokens: ADMIN, ok: { 200: { description: 'The tokens', schema: obj({ tokens: list(ref('Token')) }) } } },
  createToken: {
    tag: 'admin',
    summary: 'Make an access token; `secret` is in this answer only',
    tokens: ADMIN,
    body: obj(
      { name: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,128}$' }, role: { enum: ['admin', 'worker', 'read'] }, queues: { type: ['array', 'null'], items: str, description: 'Worker tokens: the queues it may lease from; default all' }, expires: { type: ['string', 'number', 'null'], description: 'From now: "90d", or seconds; default never' } },
      ['name', 'role'],
      { additionalProperties: false },
    ),
    ok: { 201: { description: 'The token made', schema: obj({ token: ref('Token'), secret: str }) } },
    errors: { 400: 'A bad field, naming it', 409: 'A token of that name exists' },
  },
  revokeToken: { tag: 'admin', summary: "Revoke a token; a worker token's running jobs go back to the queue", tokens: ADMIN, path: { name: 'The token' }, ok: { 200: { description: 'The token revoked; `released`: the running jobs given back', schema: obj({ token: ref('Token'), released: int }) } }, errors: { 404: 'No such token' } },
  queues: { tag: 'admin', summary: 'Every queue with jobs or paused: its jobs per state, whether it is paused', tokens: READ, ok: { 200: { description: 'The queues, by name', schema: obj({ queues: list(ref('QueueView')) }) } } },
  pauseQueue: { tag: 'admin', summary: 'Pause a queue: it leases nothing; running jobs go on', tokens: ADMIN, path: { name: 'The queue (need not have jobs yet)' }, body: ignored, bodyOptional: true, ok: { 200: queue }, errors: { 400: 'Not a queue name' } },
  resumeQueue: { tag: 'admin', summary: 'Resume a paused queue', tokens: ADMIN, path: { name: 'The queue' }, body: ignored, bodyOptional: true, ok: { 200: queue }, errors: { 400: 'Not a queue name' } },
  session: { tag: 'session', summary: 'Whether this browser is signed in (the drover_session cookie), and as what', tokens: PUBLIC, ok: { 200: { description: 'The session', schema: ref('Session') } } },
  signIn: {
    tag: 'session',
    summary: 'Sign in with an admin or read token: sets the http-only drover_session cookie',
    tokens: PUBLIC,
    body: obj({ token: str }, ['token'], { additionalProperties: false }),
    ok: { 200: { description: 'Signed in', schema: ref('Session'), headers: { 'Set-Cookie': 'drover_session=…; HttpOnly' } } },
    errors: { 400: 'No token', 401: 'A wrong, expired or revoked token (`field`: token)', 403: 'A worker token: it does not sign in', 429: 'Too many failed sign-ins from this address; see Retry-After' },
  },
  signOut: { tag: 'session', summary: 'Sign out: clears the drover_session cookie', tokens: PUBLIC, ok: { 200: { description: 'Signed out', schema: ref('Session'), headers: { 'Set-Cookie': 'drover_session=; Max-Age=0' } } } },
} satisfies Operations;
