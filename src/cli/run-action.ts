import { errorMessage, ValidationError } from '../core/errors.js';
import { readWrapperSettings } from '../wrapper/env-settings.js';
import { runWrapper } from '../wrapper/wrapper.js';

export async function runAction(command: string[], flags: { port?: string }): Promise<void> {
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
}
