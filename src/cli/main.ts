import { Command, CommanderError } from 'commander';
import { DroverError, errorMessage } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { registerImportCommand } from './import-command.js';
import { registerJobCommands } from './job-commands.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerRunCommand } from './run-command.js';
import { registerServerCommands } from './server-commands.js';
import { registerWaitCommand } from './wait-command.js';

/** The `drover` command: every definition, none of their actions (each loads when it runs). */
export function buildProgram(): Command {
  const program = new Command('drover')
    .description('Drover: a distributed task server for video acquisition and media processing')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // `drover run -- ffmpeg -y ...`: options after the command belong to it.
    .enablePositionalOptions();
  registerServerCommands(program);
  registerImportCommand(program);
  registerJobCommands(program);
  registerWaitCommand(program);
  registerMigrateCommand(program);
  registerRunCommand(program);
  program.exitOverride();
  return program;
}

/** Entry point of the `drover` command. Errors are one clear line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`drover: ${errorMessage(err)}\n`);
    if (process.env.DROVER_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    // The coordinator's 409 (a state conflict, a stale token) is exit 3; any other failure 1.
    // By name: the HTTP client (ApiError) is loaded only by the commands that talk to it.
    process.exitCode = err instanceof DroverError && err.name === 'ApiError' && err.status === 409 ? 3 : 1;
    // Long-lived commands may have started timers; make sure we do exit.
    setTimeout(() => process.exit(), 100).unref();
  }
}
