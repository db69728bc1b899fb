import path from 'node:path';
import { fillPlaceholders } from '../../core/placeholders.js';
import type { LeasedJob, ParamValue } from '../../core/job.js';
import type { Template } from '../template.js';
import { resolveOutdir } from './outdir.js';
import { checkParamType } from '../../core/param-types.js';

/** What a template job runs: worked out on the worker from its own template and the job's params. */
export interface CommandPlan {
  argv: string[];
  /** Only the template's variables; the command gets them on top of the worker's environment. */
  env: Record<string, string>;
  /** Absolute, inside the output root. */
  outdir: string;
  /** Absolute: the template's `cwd` relative to `outdir`, or `outdir`. */
  cwd: string;
}

/**
 * The values of a job's placeholders: the template's param defaults, the job's params, then the
 * builtins `id`, `attempt`, `template`, `queue` and `owner` (empty string without one). `outdir`
 * is added by `planCommand`.
 */
export function placeholderValues(job: LeasedJob, template: Template): Record<string, ParamValue | undefined> {
  const values: Record<string, ParamValue | undefined> = {};
  for (const [name, spec] of Object.entries(template.params)) if (spec.default !== undefined) values[name] = spec.default;
  Object.assign(values, job.params);
  Object.assign(values, { id: job.id, attempt: job.attempt, template: template.name, queue: job.queue, owner: job.owner ?? '' });
  return values;
}

/** Builds the argv, env, outdir and cwd of a template job. Throws a ValidationError naming a missing param. */
export function planCommand(job: LeasedJob, template: Template, outputRoot: string): CommandPlan {
  const values = placeholderValues(job, template);
  const what = `template ${template.name}`;
  // Checked at enqueue too; here against the worker's own template, whatever the coordinator knew.
  for (const [name, spec] of Object.entries(template.params)) {
    const v = values[name];
    if (v !== undefined) checkParamType(spec.type, v, `params.${name}`);
  }
  const outdir = resolveOutdir(outputRoot, template.outdir, values);
  values.outdir = outdir;
  const argv = template.argv.map((a) => fillPlaceholders(a, values, what));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(template.env)) env[k] = fillPlaceholders(v, values, `${what} env.${k}`);
  const cwd = template.cwd === null ? outdir : path.resolve(outdir, fillPlaceholders(template.cwd, values, `${what} cwd`));
  return { argv, env, outdir, cwd };
}
