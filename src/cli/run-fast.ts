import v8 from 'node:v8';

/**
 * `drover run` without the rest of the CLI: one runs per container, a hundred per host, so it
 * loads the supervisor alone (no commander, no HTTP client, no coordinator). `args` are what
 * follows `run`; returns false when they are not the plain form `[--port N] [--] COMMAND...`
 * (`--help`, a bad option, no command), which the full CLI then answers.
 */
export async function runFast(args: string[]): Promise<boolean> {
  const flags: { port?: string } = {};
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-')) break;
    if (a === '--port' && i + 1 < args.length) flags.port = args[++i];
    else if (a.startsWith('--port=')) flags.port = a.slice('--port='.length);
    else return false;
  }
  const command = args.slice(i);
  if (command.length === 0) return false;
  // Before the supervisor's code is compiled: no optimising compiler. Its work is a few lines a
  // second, which the baseline tiers run as well, and TurboFan's zone memory stays resident
  // (3 MB measured), for every one of a hundred supervisors.
  v8.setFlagsFromString('--no-opt');
  const { runAction } = await import('./run-action.js');
  await runAction(command, flags);
  return true;
}
