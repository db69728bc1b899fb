import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { JOB_DEFAULTS } from '../core/job.js';
import { DEFAULT_SERVER_URL } from '../protocol/defaults.js';

/**
 * What every command definition needs, and nothing heavy: the definitions are loaded on every
 * start (`drover --help`, `drover run`), their actions only when run (see `lazy`).
 */

/** Options every client command accepts. */
export interface ClientFlags {
  server?: string;
  tokenFile?: string;
  caFile?: string;
  config?: string;
  timeout?: string;
}

/** Only the flags that say how to reach the coordinator, to hand on to another command. */
export function clientFlagsOf(f: ClientFlags): ClientFlags {
  const out: ClientFlags = {};
  for (const k of ['server', 'tokenFile', 'caFile', 'config', 'timeout'] as const) if (f[k] !== undefined) out[k] = f[k];
  return out;
}

/** How long a client command waits for one answer (long polls excepted). */
export const CLIENT_TIMEOUT = '15s';

export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('--server <urls>', `coordinator URL(s), comma-separated (default $DROVER_SERVER, else ${DEFAULT_SERVER_URL})`)
    .option('--token-file <file>', 'file with the token (default $DROVER_TOKEN)')
    .option('--ca-file <file>', "PEM certificate(s) to trust for an https:// coordinator (default $DROVER_CA, else worker.ca_file; drover tls init's ca.crt)")
    .option('--config <file>', 'config file (default $DROVER_CONFIG, else ./drover.yaml)')
    .option('--timeout <duration>', `wait this long for each answer (default $DROVER_TIMEOUT, else ${CLIENT_TIMEOUT}; long polls wait their own time)`);
}

/** The flags of `jobOptions`, shared by `add` and `import`. */
export interface JobFieldFlags {
  owner?: string;
  queue?: string;
  priority?: string;
  tag?: string[];
  timeLimit?: string;
  maxAttempts?: string;
  node?: string;
}

export function jobOptions(cmd: Command): Command {
  return cmd
    .option('--owner <name>', 'owner of the job(s)')
    .option('--queue <name>', `queue (default "${JOB_DEFAULTS.queue}")`)
    .option('--priority <n>', `higher runs first (default ${JOB_DEFAULTS.priority})`)
    .option('--tag <tag>', 'tag (repeatable)', collectList)
    .option('--time-limit <duration>', 'time limit of one attempt, e.g. 30m, 2h')
    .option('--max-attempts <n>', `attempts in all (default ${JOB_DEFAULTS.maxAttempts}, or the template's)`)
    .option('--node <name>', "only the worker of this node runs it (its worker.segments.node), e.g. a mirror into that node's tree");
}

/** Common job fields from flags shared by `add` and `import`. */
export function jobFieldsOf(f: JobFieldFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.owner) out.owner = f.owner;
  if (f.queue) out.queue = f.queue;
  if (f.priority !== undefined) {
    const n = Number(f.priority);
    if (!Number.isSafeInteger(n)) throw new ValidationError(`--priority: expected an integer, got "${f.priority}"`);
    out.priority = n;
  }
  if (f.tag) out.tags = f.tag;
  if (f.node) out.node = f.node;
  if (f.timeLimit) out.timeLimit = f.timeLimit;
  if (f.maxAttempts !== undefined) {
    const n = Number(f.maxAttempts);
    if (!Number.isSafeInteger(n) || n < 1) throw new ValidationError(`--max-attempts: expected an integer ≥ 1, got "${f.maxAttempts}"`);
    out.maxAttempts = n;
  }
  return out;
}

/** `k=v` pairs from repeated --param flags. */
export function collectParam(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new Error(`--param ${value}: expected NAME=VALUE`);
  return { ...prev, [value.slice(0, i)]: value.slice(i + 1) };
}

export function collectList(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}

/**
 * An action loaded when the command runs: `lazy(() => import('./job-actions.js'), 'addAction')`.
 * Keeps the HTTP client, the coordinator and the spreadsheet readers out of every other command.
 */
export function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const mod = await load();
    await (mod[name] as (...a: unknown[]) => Promise<void>)(...args);
  };
}
