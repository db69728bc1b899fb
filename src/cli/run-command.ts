import type { Command } from 'commander';
import { WRAPPER_DEFAULTS } from '../wrapper/defaults.js';
import { lazy } from './flags.js';

/**
 * `drover run [--port N] -- ffmpeg ...`: an FF WRAPPER-compatible ffmpeg supervisor, configured
 * by FF WRAPPER's environment variables (see README). Exits 1 when ffmpeg ends or is stopped as
 * failed, 0 after a clean stop asked for with SIGTERM/SIGINT, 2 when it cannot start (bad
 * setting, WORKDIR in use, port in use). One runs per container, so it loads only the supervisor.
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run ffmpeg (or any command) under an FF WRAPPER-compatible supervisor: logs, manager, status API; settings from WORKDIR, API_PORT, ENCODING_* ...')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--port <n>', `status API port (default $API_PORT, else ${WRAPPER_DEFAULTS.apiPort})`)
    .passThroughOptions()
    .action(lazy(() => import('./run-action.js'), 'runAction'));
}
