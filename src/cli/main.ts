import { Command, CommanderError } from 'commander';
import { ApiError } from '../client/api-client.js';
import { DroverError, errorMessage } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { registerImportCommand } from './import-command.js';
import { registerJobCommands } from './job-commands.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerRunCommand } from './run-command.js';
import { registerServerCommands } from './server-commands.js';
import { registerWaitCommand } from './wait-command.js';

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
    const msg = err instanceof ApiError ? err.message : err instanceof DroverError ? err.message : errorMessage(err);
    process.stderr.write(`drover: ${msg}\n`);
    if (process.env.DROVER_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = err instanceof ApiError && err.status === 409 ? 3 : 1;
    // Long-lived commands may have started timers; make sure we do exit.
    setTimeout(() => process.exit(), 100).unref();
  }
}
