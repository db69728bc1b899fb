import type { Command } from 'commander';
import { lazy } from './flags.js';

/**
 * `drover migrate-store --from sqlite:PATH --to postgres://...`: copies every job with its
 * attempts and logs. Jobs already in the target are skipped, so an interrupted run can be
 * started again. Stop the coordinators first.
 */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate-store')
    .description('copy every job, its attempts and its logs from one store to another (stop the coordinators first)')
    .requiredOption('--from <db>', 'source: sqlite:PATH (or a path) or postgres://...')
    .requiredOption('--to <db>', 'target: postgres://... or sqlite:PATH')
    .action(lazy(() => import('./migrate-action.js'), 'migrateAction'));
}
