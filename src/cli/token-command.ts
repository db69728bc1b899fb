import type { Command } from 'commander';
import { addClientFlags, lazy } from './flags.js';

const actions = () => import('./token-actions.js');

/**
 * `drover token add|list|revoke`: the store's access tokens, through the coordinator's admin API
 * (the admin token of --token-file or $DROVER_TOKEN), so they work against a running coordinator
 * and, on PostgreSQL, for every coordinator of the database.
 */
export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('access tokens per worker, person or dashboard, kept hashed in the store (beside server.token_file)');
  addClientFlags(token.command('add <role> <name>'))
    .description('make a token: role worker (NAME is its worker\'s name), admin, or read (GET routes and /metrics); prints it once, last on the line')
    .option('--queues <list>', 'worker tokens: the queues it may lease from, comma-separated (default all)')
    .option('--expires <duration>', 'valid for this long from now, e.g. 90d, 12h (default: never expires)')
    .option('--json', 'print {token, secret} as JSON')
    .action(lazy(actions, 'tokenAddAction'));
  addClientFlags(token.command('list'))
    .description('every token: name, role, queues, expiry, last use (never the tokens)')
    .option('--json', 'as JSON')
    .action(lazy(actions, 'tokenListAction'));
  addClientFlags(token.command('revoke <name>'))
    .description("refuse the token from its next request on; a worker token's running jobs go back to the queue")
    .action(lazy(actions, 'tokenRevokeAction'));
}
