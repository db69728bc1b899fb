import type { Job, Params } from '../core/job.js';
import { sealedKeyId, SecretUnreadableError, type SecretBox } from '../core/secret-box.js';
import type { ResolvedNewJob } from '../store/store.js';

/**
 * Secret params encrypted at rest (core/secret-box.ts), as the coordinator applies it. The store
 * never sees a secret param's plaintext: a job's secret params are sealed before it is stored
 * (enqueue, children made by an attempt), and every param of a schedule's job spec is (which
 * of them are secret may depend on a template a worker brings later). Values are opened only
 * for the worker that leased the job, to redact its log lines, and when a schedule fires or is
 * shown redacted. A value without the prefix is plaintext, stored before this existed.
 */

/** Where a sealed value belongs; bound into its associated data, so it opens nowhere else. */
export type SealedIn = { job: string } | { schedule: string };

/** The associated data of param `name` in `where`. NUL-separated: no id, name or param has one. */
export function aadOf(where: SealedIn, name: string): string {
  return 'job' in where ? `drover\0job\0${where.job}\0${name}` : `drover\0schedule\0${where.schedule}\0${name}`;
}

/** Param `name` in `where`, as an error names it. */
export function paramOf(where: SealedIn, name: string): string {
  return 'job' in where ? `secret param ${name} of job ${where.job}` : `param ${name} of schedule ${where.schedule}`;
}

/** `params` with each of `names` sealed under the box's current key (values already sealed too: what a client sends is plaintext). */
export function sealParams(box: SecretBox, params: Params, names: readonly string[], where: SealedIn): Params {
  let out: Params | null = null;
  for (const name of names) {
    const v = params[name];
    if (v === undefined) continue;
    out ??= { ...params };
    out[name] = box.seal(v, aadOf(where, name));
  }
  return out ?? params;
}

/** `params` with each of `names` opened (plaintext ones as they are); throws SecretUnreadableError. */
export function openParams(box: SecretBox, params: Params, names: readonly string[], where: SealedIn): Params {
  let out: Params | null = null;
  for (const name of names) {
    const v = params[name];
    if (v === undefined || sealedKeyId(v) === null) continue;
    out ??= { ...params };
    out[name] = box.open(v, aadOf(where, name), paramOf(where, name));
  }
  return out ?? params;
}

/** New jobs with their secret params sealed, each bound to its own id. */
export function sealJobs(box: SecretBox, jobs: ResolvedNewJob[]): ResolvedNewJob[] {
  return jobs.map((j) => (j.secrets.length === 0 ? j : { ...j, params: sealParams(box, j.params, j.secrets, { job: j.id }) }));
}

/** A job with its secret params opened: for the worker holding its lease only. Throws SecretUnreadableError. */
export function openJob(box: SecretBox, job: Job): Job {
  return job.secrets.length === 0 ? job : { ...job, params: openParams(box, job.params, job.secrets, { job: job.id }) };
}

/**
 * The job's secret values as its log is redacted with them. A value that cannot be opened is
 * left out (the worker redacted its lines already); it cannot be leased here either.
 */
export function secretParamsForRedaction(box: SecretBox, job: Job): Params {
  const out: Params = { ...job.params };
  for (const name of job.secrets) {
    const v = out[name];
    if (v === undefined) continue;
    try {
      out[name] = box.open(v, aadOf({ job: job.id }, name), paramOf({ job: job.id }, name));
    } catch (err) {
      if (!(err instanceof SecretUnreadableError)) throw err;
      delete out[name];
    }
  }
  return out;
}

/** The scalar params of a job spec, or null when it has none of its own (left for validation to refuse). */
function specParams(spec: Record<string, unknown>): Params | null {
  const p = spec.params;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return null;
  const entries = Object.entries(p as Record<string, unknown>);
  return entries.every(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') ? (p as Params) : null;
}

/** A schedule's job spec with every param sealed, bound to the schedule's name. */
export function sealSpec(box: SecretBox, spec: Record<string, unknown>, schedule: string): Record<string, unknown> {
  const params = specParams(spec);
  if (!params) return spec;
  return { ...spec, params: sealParams(box, params, Object.keys(params), { schedule }) };
}

/** A schedule's job spec with its params opened (plaintext ones as they are). Throws SecretUnreadableError. */
export function openSpec(box: SecretBox, spec: Record<string, unknown>, schedule: string): Record<string, unknown> {
  const params = specParams(spec);
  if (!params) return spec;
  return { ...spec, params: openParams(box, params, Object.keys(params), { schedule }) };
}

/** Why a leased job cannot be handed to its worker, as its error says it. */
export function unreadableJobError(err: SecretUnreadableError, box: SecretBox): string {
  if (err.missingKey) return `its secret params were encrypted with key ${err.keyId}, which this coordinator does not have (its server.secret_key_file holds key ${box.current.id}); start the coordinators with the key file the job was made under, then retry it`;
  return `its secret params cannot be decrypted: ${err.message}`;
}

/** Leased jobs opened for their worker; those that cannot be opened apart, each with the error to fail it with. */
export function openLeased(box: SecretBox, jobs: readonly Job[]): { open: Job[]; unreadable: Array<{ job: Job; error: string }> } {
  const open: Job[] = [];
  const unreadable: Array<{ job: Job; error: string }> = [];
  for (const job of jobs) {
    try {
      open.push(openJob(box, job));
    } catch (err) {
      if (!(err instanceof SecretUnreadableError)) throw err;
      unreadable.push({ job, error: unreadableJobError(err, box) });
    }
  }
  return { open, unreadable };
}
