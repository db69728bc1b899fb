import type { Command } from 'commander';
import { addClientFlags, lazy } from './flags.js';

/**
 * `drover doctor`: what is wrong with this machine's worker setup, one line per check (ffmpeg and
 * ffprobe, the directories it writes to, the coordinator, its clock, the token); exit 1 on a FAIL.
 */
export function registerDoctorCommand(program: Command): void {
  addClientFlags(program.command('doctor'))
    .description("check this machine's worker setup: ffmpeg and ffprobe, its directories and their free space, the coordinator (version, clock), the worker token; exit 1 if a check fails")
    .option('--output-root <dir>', "the worker's --output-root, if it runs with one")
    .option('--name <name>', "the worker's --name, if it runs with one (a token made for a worker takes its name only)")
    .option('--json', 'print the checks as JSON')
    .action(lazy(() => import('./doctor-action.js'), 'doctorAction'));
}
