import type { Command } from 'commander';
import { SERVER_DEFAULTS } from '../coordinator/defaults.js';
import { collectList, lazy } from './flags.js';

/**
 * `drover secrets rotate --new-key-file F`: re-encrypts every secret param in the store under a
 * new key, in batches; an interrupted run is started again with the same F. Opens the store
 * directly, like `drover migrate-store`: stop the coordinators first.
 */
export function registerSecretsCommand(program: Command): void {
  const secrets = program.command('secrets').description('secret params, encrypted in the store with server.secret_key_file');
  secrets
    .command('rotate')
    .description('re-encrypt every secret param under a new key (and those stored in plaintext before); stop the coordinators first')
    .requiredOption('--new-key-file <file>', 'the new key: created (0600) if missing; the same file again resumes an interrupted rotation')
    .option('--key-file <file>', 'a key values are encrypted under now (repeatable; default server.secret_key_file, else DATA/secret.key)', collectList)
    .option('--data <dir>', `data directory of the embedded SQLite store (default ${SERVER_DEFAULTS.dataDir})`)
    .option('--db <url>', 'database: postgres://USER@HOST/DB or a SQLite file (default $DROVER_DB; overrides --data)')
    .option('--config <file>', 'config file (default $DROVER_CONFIG, else ./drover.yaml)')
    .action(lazy(() => import('./secrets-action.js'), 'rotateAction'));
}
