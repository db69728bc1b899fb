import type { Command } from 'commander';
import { DroverError, errorMessage } from '../core/errors.js';
import { VERSION } from '../core/version.js';

/** The `drover` command: every definition, none of their actions (each loads when it runs). */
export async function buildProgram(): Promise<Command> {
  const [{ Command }, { registerServerCommands }, { registerImportCommand }, { registerJobCommands }, { registerWaitCommand }, { registerMigrateCommand }, { registerRunCommand }, { registerSegmentsCommand }, { registerScheduleCommand }, { registerTlsCommand }] = await Promise.all([
    import('commander'),
    import('./server-commands.js'),
    import('./import-command.js'),
    import('./job-commands.js'),
    import('./wait-command.js'),
    import('./migrate-command.js'),
    import('./run-command.js'),
    import('./segments-command.js'),
    import('./schedule-command.js'),
    import('./tls-command.js'),
  ]);
  const { registerSecretsCommand } = await import('./secrets-command.js');
  const { registerTokenCommand } = await import('./token-command.js');
  const { registerQueueCommand } = await import('./queue-command.js');
  const { registerDoctorCommand } = await import('./doctor-command.js');
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
  registerSecretsCommand(program);
  registerTokenCommand(program);
  registerQueueCommand(program);
  registerRunCommand(program);
  registerSegmentsCommand(program);
  registerScheduleCommand(program);
  registerTlsCommand(program);
  registerDoctorCommand(program);
  program.exitOverride();
  return program;
}

/** Entry point of the `drover` command. Errors are one clear line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedOutput();
  try {
    if (argv[2] === 'run' && (await import('./run-fast.js').then((m) => m.runFast(argv.slice(3))))) return;
    await (await buildProgram()).parseAsync(argv);
  } catch (err) {
    // commander's own errors (a bad option, --help, --version) are already printed.
    const c = err as { code?: unknown; exitCode?: unknown };
    if (typeof c.code === 'string' && c.code.startsWith('commander.') && typeof c.exitCode === 'number') {
      process.exitCode = c.exitCode;
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

/**
 * `drover jobs --all | head -1`: once the reader has gone, the command ends at once and quietly,
 * exit 0 as git and ls do, instead of an unhandled EPIPE with a stack trace.
 */
function endQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(0);
      throw err;
    });
  }
}
