import type { z } from 'zod';
import type { Params } from '../core/job.js';
import type { Rotation } from '../supervise/rotating-log.js';
import type { Runner } from './runner.js';
import type { HostGuard } from '../core/host-guard.js';

/** What every kind on a worker shares, from drover.yaml's `worker:` section. */
export interface WorkerSetup {
  /** Named directories jobs may deliver to (`worker.destinations`), paths absolute. */
  destinations: Map<string, string>;
  /** How job log files in `log_dir` rotate (`worker.log_rotation`). */
  rotation: Required<Rotation>;
  /** The hosts downloads and ffmpeg inputs may reach (`worker.allow_hosts` / `deny_hosts`). */
  hosts: HostGuard;
  /** `worker.ca_file`'s PEM text: trusted for https:// besides Node's list (the coordinator, segment peers). */
  ca?: string;
}

/** A kind's own worker settings: `worker.<kind>` in drover.yaml. */
export interface KindSettings<S, R> {
  /** The YAML section; every key is optional, defaults come from the kind's `*_DEFAULTS`. */
  schema: z.ZodType<R>;
  /** The section as read (`{}` when absent) → the settings the runner takes. Throws ConfigError naming `where.KEY`. */
  resolve(raw: R, worker: WorkerSetup, where: string): S;
}

/**
 * Everything Drover knows of one job kind, in one place (`src/runners/<kind>/index.ts`); the
 * registry lists them and nothing else names a kind. The coordinator uses `needsTemplate`,
 * `check`, `secretsOf` and `timeLimit` to accept jobs; the config composes `worker.<kind>`
 * from `settings`; the worker builds the runner with `createRunner`. Keep index.ts light: it is
 * loaded by every command; the runner's code is imported by `createRunner` alone.
 */
export interface KindModule<S = unknown, R = unknown> {
  readonly name: string;
  /** Jobs of this kind name a template: their command comes from the worker's config, never from the job. */
  readonly needsTemplate: boolean;
  /** Checks a job's params at enqueue (jobs without a template); throws a ValidationError naming `${field}.PARAM`. */
  check?(params: Params, field: string): void;
  /** The params of these that are secret (jobs without a template). */
  secretsOf?(params: Params): string[];
  /** Every param a job without a template may have; another is refused at enqueue. Absent: any. */
  readonly params?: readonly string[];
  /** Params the kind itself reads from a template's jobs, beside the template's own (ffmpeg: dest, live). */
  readonly templateParams?: readonly string[];
  /** The concurrency key (from the job's checked params) and limit a job gets when it names none. */
  readonly concurrency?: { key(params: Params): string; limit: number };
  /** An attempt's time limit when the job gives none, and the server setting that changes it. */
  readonly timeLimit?: { defaultMs: number; serverKey: string };
  readonly settings?: KindSettings<S, R>;
  /** The `worker.<key>` section of `settings`. Default the kind's name. */
  readonly settingsKey?: string;
  /** Whether a worker with these settings runs the kind (and says so to the coordinator). Default yes. */
  enabled?(settings: S): boolean;
  /** The kind's runner, loaded here and only here: the coordinator and the CLI read the rest of the module, never a runner's code. */
  createRunner(settings: S, worker: WorkerSetup): Promise<Runner>;
}

/** A module of any kind, as the registry holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKindModule = KindModule<any, any>;
