import type { Command } from 'commander';
import { addClientFlags, lazy } from './flags.js';

/** `drover queue list|pause|resume`: a paused queue leases nothing to any worker; its running jobs go on. */
export function registerQueueCommand(program: Command): void {
  const queue = program.command('queue').description('queues: their jobs per state; pause one so that nothing of it is leased, resume it');
  addClientFlags(queue.command('list'))
    .description('every queue with jobs or paused: jobs per state, paused since when')
    .option('--json', 'one JSON object per line')
    .action(lazy(() => import('./queue-actions.js'), 'queueListAction'));
  addClientFlags(queue.command('pause <name>'))
    .description('lease nothing of this queue from now on (jobs running go on; new jobs are taken and wait)')
    .action(lazy(() => import('./queue-actions.js'), 'queuePauseAction'));
  addClientFlags(queue.command('resume <name>'))
    .description('lease this queue again')
    .action(lazy(() => import('./queue-actions.js'), 'queueResumeAction'));
}
