import type { Command } from 'commander';
import { errorMessage, ValidationError } from '../core/errors.js';
import { readWrapperSettings } from '../wrapper/env-settings.js';
import { runWrapper } from '../wrapper/wrapper.js';

/**
 * `drover run [--port N] -- ffmpeg ...`: the seed's FF WRAPPER, configured by its environment
 * variables (see README). Exits 1 when ffmpeg ends or is stopped as failed, 0 after a clean stop
 * asked for with SIGTERM/SIGINT, 2 when it cannot start (bad setting, WORKDIR in use, port in use).
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run ffmpeg (or any command) under the seed\'s supervisor: logs, manager, status API; settings from WORKDIR, API_PORT, ENCODING_* ...')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--port <n>', 'status API port (default $API_PORT, else 8000)')
    .passThroughOptions()
    .action(async (command: string[], flags: { port?: string }) => {
      const say = (text: string) => process.stderr.write(`drover run: ${text}\n`);
      try {
        const settings = readWrapperSettings(process.env);
        if (flags.port !== undefined) {
          const n = Number(flags.port);
          if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ValidationError(`--port: expected a port number from 0 to 65535, got "${flags.port}"`);
          settings.apiPort = n;
        }
        process.exitCode = await runWrapper(command, settings, say);
      } catch (err) {
        say(errorMessage(err));
        process.exitCode = 2;
      }
      // Whatever handle is left (a client still connected to the API) must not keep us alive.
      setTimeout(() => process.exit(), 1000).unref();
    });
}
