import type { TokenInfo } from '../core/access-token.js';
import { ValidationError } from '../core/errors.js';
import type { CreateTokenRequest } from '../protocol/token-messages.js';
import { withClient } from './client-context.js';
import type { ClientFlags } from './flags.js';
import { ago, plural, table } from './format.js';

interface AddFlags extends ClientFlags {
  queues?: string;
  expires?: string;
  json?: boolean;
}

const ROLES = ['worker', 'admin', 'read'];

export async function tokenAddAction(role: string, name: string, f: AddFlags): Promise<void> {
  if (!ROLES.includes(role)) throw new ValidationError(`token add: the role is worker, admin or read, got "${role}" (drover token add worker NAME)`);
  const queues = f.queues === undefined ? [] : f.queues.split(',').map((q) => q.trim()).filter((q) => q.length > 0);
  if (queues.length > 0 && role !== 'worker') throw new ValidationError('--queues: only a worker token is limited to queues');
  const req: CreateTokenRequest = { name, role: role as CreateTokenRequest['role'], ...(queues.length > 0 ? { queues } : {}), ...(f.expires ? { expires: f.expires } : {}) };
  await withClient(f, async (api) => {
    const { token, secret } = await api.createToken(req);
    if (f.json) return void process.stdout.write(JSON.stringify({ token, secret }, null, 2) + '\n');
    const about = [token.queues.length > 0 ? `queues ${token.queues.join(', ')}` : role === 'worker' ? 'all queues' : '', token.expiresAt === null ? 'never expires' : `expires ${iso(token.expiresAt)}`].filter(Boolean).join('; ');
    // The token last on the line, for `| awk '{print $NF}'`; it is shown this once.
    process.stdout.write(`${role} token ${token.name} (${about}); shown only now, keep it: ${secret}\n`);
  });
}

export async function tokenListAction(f: ClientFlags & { json?: boolean }): Promise<void> {
  await withClient(f, async (api) => {
    const all = await api.tokens();
    if (f.json) return void process.stdout.write(JSON.stringify(all, null, 2) + '\n');
    if (all.length === 0) return void process.stdout.write('no tokens in the store (the token file\'s admin and worker tokens are not listed)\n');
    const now = Date.now();
    const rows = all.map((t) => [t.name, t.role, t.role === 'worker' ? (t.queues.length > 0 ? t.queues.join(',') : 'all') : '', expiry(t, now), t.lastUsedAt === null ? 'never' : ago(t.lastUsedAt, now), `${t.id}…`, iso(t.createdAt)]);
    process.stdout.write(table(['NAME', 'ROLE', 'QUEUES', 'EXPIRES', 'LAST USED', 'ID', 'CREATED'], rows) + '\n');
  });
}

export async function tokenRevokeAction(name: string, f: ClientFlags): Promise<void> {
  await withClient(f, async (api) => {
    const { token, released } = await api.revokeToken(name);
    const jobs = token.role === 'worker' ? `; ${released === 0 ? 'it held no running jobs' : `${plural(released, 'running job')} went back to the queue`}` : '';
    process.stdout.write(`revoked ${token.role} token ${token.name}${jobs}\n`);
  });
}

function expiry(t: TokenInfo, now: number): string {
  if (t.expiresAt === null) return 'never';
  return t.expiresAt <= now ? `expired ${iso(t.expiresAt)}` : iso(t.expiresAt);
}

/** To the second, in UTC. */
function iso(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
