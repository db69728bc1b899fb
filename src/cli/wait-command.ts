import type { Command } from 'commander';
import { addClientFlags, lazy } from './flags.js';

/**
 * `drover wait`: a live display until no matching job is active (waiting, queued, running, or a
 * parent waiting for its children). The exit status is 1 when a matching job is failed or timed
 * out (with --since, one that finished since then); else 0.
 */
export function registerWaitCommand(program: Command): void {
  addClientFlags(program.command('wait'))
    .description('show live progress until nothing is waiting, queued, running or waiting for its children; exit 1 if any job failed or timed out')
    .option('--owner <name>', 'only this owner')
    .option('--queue <name>', 'only this queue')
    .option('--tag <tag>', 'only jobs with this tag')
    .option('--template <name>', 'only this template')
    .option('--interval <ms>', 'refresh period in ms (default 1000)')
    .option('--quiet', 'no live display; just wait')
    .option('--since <time>', 'count only failures since this time (ISO 8601) or this long ago (e.g. 30m)')
    .action(lazy(() => import('./wait-action.js'), 'waitAction'));
}
