import type { Command } from 'commander';
import { addClientFlags, collectParam, jobOptions, lazy } from './flags.js';

const actions = () => import('./schedule-actions.js');

export function registerScheduleCommand(program: Command): void {
  const schedule = program.command('schedule').description('recurring jobs: enqueued every period or at cron times, never while the last one still runs');
  addClientFlags(jobOptions(schedule.command('add <name> [kind]')))
    .description('create or replace a schedule: `drover schedule add quick mirror --every 5m --node n1 --param hours=3`')
    .option('--every <duration>', 'a period (5m, 3h)')
    .option('--cron <expr>', 'cron fields instead, e.g. "*/5 * * * *"')
    .option('--tz <zone>', "the cron times' time zone (IANA, e.g. Europe/Berlin; default UTC)")
    .option('--template <name>', 'template from the config')
    .option('--param <k=v>', 'a parameter (repeatable)', collectParam)
    .option('--paused', 'create it paused')
    .option('--json', 'print the schedule as JSON')
    .action(lazy(actions, 'scheduleAddAction'));
  addClientFlags(schedule.command('list'))
    .description('every schedule: when it runs, its next and last run, its last job')
    .option('--json', 'as JSON')
    .action(lazy(actions, 'scheduleListAction'));
  for (const [verb, what] of [
    ['remove', 'delete a schedule (one from drover.yaml is removed there)'],
    ['pause', 'stop a schedule from firing'],
    ['resume', 'let a paused schedule fire again, from its next time after now'],
  ] as const) {
    addClientFlags(schedule.command(`${verb} <name>`))
      .description(what)
      .action(lazy(actions, `schedule${verb[0]?.toUpperCase()}${verb.slice(1)}Action` as 'scheduleRemoveAction'));
  }
}
