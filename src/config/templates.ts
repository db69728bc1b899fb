import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { ConfigError, ValidationError } from '../core/errors.js';
import { compilePattern } from '../core/param-pattern.js';
import { PARAM_TYPES } from '../core/param-types.js';
import type { ParamSpec } from '../core/reports.js';
import { placeholdersOf } from '../core/placeholders.js';
import { BUILTIN_PLACEHOLDERS, TEMPLATE_DEFAULTS, type Template } from '../runners/template.js';
import { checksSchema, managerSettingsOf, positive } from '../supervise/manager-checks.js';

const duration = z.union([z.string(), z.number()]);
const paramSpec = z
  .object({
    type: z.enum(PARAM_TYPES).optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    pattern: z.string().optional(),
    description: z.string().optional(),
  })
  .strict();

/** One entry of `templates:` in drover.yaml. Defaults in TEMPLATE_DEFAULTS. */
export const templateSchema = z
  .object({
    /** The kind that runs it. Default `exec`. */
    kind: z.string().optional(),
    /** The command as an argv array; `{param}` placeholders are filled per job. Never a shell. */
    argv: z.array(z.string()).min(1),
    /** Params shown as `***` everywhere but to the worker. */
    secrets: z.array(z.string()).default([]),
    /** Optional types, defaults and patterns of params. */
    params: z.record(z.string(), paramSpec).default({}),
    concurrency: z.object({ key: z.string(), limit: z.number().int().positive() }).strict().optional(),
    time_limit: duration.optional(),
    max_attempts: z.number().int().positive().optional(),
    backoff: duration.optional(),
    /** Output directory of a job below the worker's `output_root`. Default `{template}_{id}`. */
    outdir: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** Working directory of the command. Default: the job's output directory. */
    cwd: z.string().optional(),
    /** Grace between SIGTERM and SIGKILL when stopping. Default 10s. */
    kill_grace: duration.optional(),
    /** No output for this long stops the command (a no-output watchdog). Default: off. */
    stall_timeout: duration.optional(),
    /** Kind ffmpeg: a live recording, restarted with backoff when it fails or ends. */
    live: z.boolean().optional(),
    /** Kind ffmpeg: the manager's thresholds for this template, over the worker's. */
    checks: checksSchema.optional(),
  })
  .strict();

export type RawTemplate = z.infer<typeof templateSchema>;

/** Checks a template and works out its required params; a ConfigError names `templates.NAME.KEY`. */
export function compileTemplate(name: string, t: RawTemplate): Template {
  const where = `templates.${name}`;
  try {
    const texts = [...t.argv, ...Object.values(t.env), t.cwd ?? '', t.outdir ?? '', t.concurrency?.key ?? ''];
    const used = new Set<string>();
    for (const s of texts) for (const n of placeholdersOf(s)) used.add(n);
    for (const s of t.secrets) if (!used.has(s) && !(s in t.params)) throw new ValidationError(`${where}.secrets: "${s}" is not a placeholder of this template`);
    const builtins = new Set<string>(BUILTIN_PLACEHOLDERS);
    const required = [...used].filter((n) => !builtins.has(n) && t.params[n]?.default === undefined);
    for (const [pname, spec] of Object.entries(t.params)) {
      if (spec.pattern !== undefined) compilePattern(spec.pattern, `${where}.params.${pname}.pattern`);
    }
    const params = paramTypesOf(t, builtins);
    const ms = (v: string | number | undefined, key: string) => (v === undefined ? null : parseDuration(v, `${where}.${key}`));
    return {
      name,
      kind: t.kind ?? TEMPLATE_DEFAULTS.kind,
      argv: t.argv,
      secrets: t.secrets,
      params,
      required,
      concurrency: t.concurrency ?? null,
      timeLimitMs: ms(t.time_limit, 'time_limit'),
      maxAttempts: t.max_attempts ?? null,
      backoffMs: ms(t.backoff, 'backoff'),
      outdir: t.outdir ?? TEMPLATE_DEFAULTS.outdir,
      env: t.env,
      cwd: t.cwd ?? null,
      killGraceMs: ms(t.kill_grace, 'kill_grace') ?? TEMPLATE_DEFAULTS.killGraceMs,
      stallTimeoutMs: t.stall_timeout === undefined ? null : positive(parseDuration(t.stall_timeout, `${where}.stall_timeout`), `${where}.stall_timeout`),
      live: t.live ?? TEMPLATE_DEFAULTS.live,
      checks: t.checks ? managerSettingsOf(t.checks, `${where}.checks`) : {},
    };
  } catch (err) {
    if (err instanceof ValidationError || err instanceof ConfigError) throw new ConfigError(err.message.startsWith(where) ? err.message : `${where}: ${err.message}`);
    throw err;
  }
}

/** A literal `/` or `\\` outside placeholders, in a value that is not a URL: the value is a file path. */
function isPathText(text: string): boolean {
  const literal = text.replace(/\{\{|\}\}/g, '').replace(/\{[^{}]*\}/g, '');
  return /[/\\]/.test(literal) && !/[a-z][a-z0-9+.-]*:\/\//i.test(literal);
}

/**
 * Each param's spec with its type settled: as declared, else `name` for a placeholder used in a
 * file path (argv or env values with a `/` that are not URLs, `cwd`), else `string`.
 */
function paramTypesOf(t: RawTemplate, builtins: ReadonlySet<string>): Record<string, ParamSpec> {
  const inPaths = new Set<string>();
  for (const s of [...t.argv, ...Object.values(t.env)]) if (isPathText(s)) for (const n of placeholdersOf(s)) inPaths.add(n);
  for (const n of placeholdersOf(t.cwd ?? '')) inPaths.add(n);
  const out: Record<string, ParamSpec> = {};
  for (const [name, spec] of Object.entries(t.params)) out[name] = { ...spec, type: spec.type ?? (inPaths.has(name) ? 'name' : 'string') };
  for (const n of inPaths) if (!builtins.has(n) && !(n in out)) out[n] = { type: 'name' };
  return out;
}
