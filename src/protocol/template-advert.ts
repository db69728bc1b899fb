import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { compilePattern } from '../core/param-pattern.js';
import { PARAM_TYPES } from '../core/param-types.js';
import type { TemplateInfo } from '../core/reports.js';

const NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;
const PARAM = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/**
 * A template as a worker advertises it on `/lease` (from its own config, which checked it):
 * checked again here, since the coordinator shapes and redacts jobs with it and a worker token
 * is not an admin's. Anything else is refused, naming the field.
 */
const advertSchema = z
  .object({
    name: z.string().regex(NAME, 'letters, digits and _ . : @ - only, at most 128'),
    kind: z.string().regex(NAME, 'letters, digits and _ . : @ - only, at most 128'),
    required: z.array(z.string().regex(PARAM, 'a param name')).max(256).default([]),
    secrets: z.array(z.string().regex(PARAM, 'a param name')).max(256).default([]),
    params: z
      .record(
        z.string().regex(PARAM, 'a param name'),
        z.object({ type: z.enum(PARAM_TYPES).default('string'), default: scalar.optional(), pattern: z.string().max(1000).optional(), description: z.string().max(2000).optional() }).strip(),
      )
      .default({}),
    concurrency: z.object({ key: z.string().min(1).max(500), limit: z.number().int().min(1).max(1_000_000) }).strip().nullable().default(null),
    timeLimitMs: z.number().int().positive().nullable().default(null),
    maxAttempts: z.number().int().min(1).max(1000).nullable().default(null),
    backoffMs: z.number().int().min(0).nullable().default(null),
  })
  .strip();

/** An advertised template, checked; a ValidationError names `where.FIELD` (`worker.templates[0].secrets`). */
export function templateAdvertOf(x: unknown, where: string): TemplateInfo {
  const r = advertSchema.safeParse(x);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = [where, ...(issue?.path ?? []).map(String)].join('.');
    throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, field);
  }
  const t = r.data as TemplateInfo;
  for (const [name, spec] of Object.entries(t.params)) if (spec.pattern !== undefined) compilePattern(spec.pattern, `${where}.params.${name}.pattern`);
  return t;
}
