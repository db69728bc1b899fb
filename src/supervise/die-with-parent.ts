import fs from 'node:fs';
import path from 'node:path';

/** util-linux's setpriv (Debian's essential util-linux has it): sets the death signal, then execs. */
const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = process.platform === 'linux' && isExecutable(SETPRIV);

/**
 * `argv`, to be run so that its process is killed (SIGKILL) when the process that started it
 * dies: `setpriv --pdeathsig SIGKILL -- argv`, which sets the death signal and execs the
 * command in its place (same pid, same process group, same exit status). A supervisor killed
 * with SIGKILL then leaves no job running on by itself, finishing work whose outcome no one will
 * report (it would run again elsewhere). Without setpriv, or when the command cannot be found
 * (the spawn's own error then names it), `argv` as it is.
 * Only the group leader gets the signal; its children lose their parent, and with it the rest
 * of the command's script, and are killed by the worker's next start (its pid files).
 */
export function dyingWithParent(argv: readonly string[], cwd: string | undefined, env: NodeJS.ProcessEnv | undefined): string[] {
  const cmd = argv[0];
  if (!hasSetpriv || !cmd || !findExecutable(cmd, cwd, (env ?? process.env).PATH)) return [...argv];
  return [SETPRIV, '--pdeathsig', 'SIGKILL', '--', ...argv];
}

/** The file `cmd` runs: a path (against `cwd`) or a name looked up in PATH; null when none is executable. */
function findExecutable(cmd: string, cwd: string | undefined, pathVar: string | undefined): string | null {
  if (cmd.includes('/')) {
    const file = path.resolve(cwd ?? process.cwd(), cmd);
    return isExecutable(file) ? file : null;
  }
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, cmd);
    if (isExecutable(file)) return file;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
