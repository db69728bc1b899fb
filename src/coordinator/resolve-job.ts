import { parseDuration, parseTime } from '../core/duration.js';
import { quoted, ValidationError } from '../core/errors.js';
import { newJobId } from '../core/ids.js';
import { JOB_DEFAULTS, type Params } from '../core/job.js';
import { matchesPattern } from '../core/param-pattern.js';
import { checkParamType } from '../core/param-types.js';
import { fillPlaceholders } from '../core/placeholders.js';
import { closest } from '../core/suggest.js';
import type { TemplateInfo } from '../core/reports.js';
import { JOB_SPEC_FIELDS } from '../protocol/messages.js';
import { kindModule } from '../runners/registry.js';
import type { ResolvedNewJob } from '../store/store.js';
import type { TemplateCatalog } from './templates.js';

const NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;
const MAX_PARAMS = 256;
const MAX_VALUE = 64 * 1024;

export interface ResolveContext {
  templates: TemplateCatalog;
  /** Kinds some worker or the coordinator knows. */
  kinds: Set<string>;
  now: number;
  /** Per kind: an attempt's time limit when the job gives none, over the kind module's default, ms (server settings). */
  timeLimits?: Record<string, number>;
}

/**
 * Checks a job as submitted over the API and fills its defaults from its template and from
 * JOB_DEFAULTS. Every error is a ValidationError whose message starts with the field path
 * (`prefix` + field), e.g. `jobs[3].params.password: required by template hikload`.
 */
export function resolveNewJob(input: unknown, ctx: ResolveContext, prefix = ''): ResolvedNewJob {
  const f = (name: string) => `${prefix}${name}`;
  const fail = (name: string, msg: string): never => {
    throw new ValidationError(`${f(name)}: ${msg}`, f(name));
  };
  // The job itself: `jobs[3]` of a batch, the body when it is the only one.
  const self = prefix ? prefix.slice(0, -1) : 'body';
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError(`${self}: a job is a JSON object`, self);
  const j = input as Record<string, unknown>;
  if ('' in j) throw new ValidationError(`${self}: a field without a name`, self);
  for (const k in j) if (!JOB_SPEC_FIELDS.has(k)) fail(k, `unknown field (known: ${[...JOB_SPEC_FIELDS].join(', ')})`);

  const templateName = optString(j.template, f('template'));
  let tpl: TemplateInfo | undefined;
  if (templateName !== undefined) {
    tpl = ctx.templates.get(templateName);
    if (!tpl) fail('template', `unknown template "${templateName}" (known: ${ctx.templates.names().join(', ') || 'none'})`);
  }
  let kind = optString(j.kind, f('kind'));
  if (kind === undefined) kind = tpl?.kind ?? fail('kind', 'required (or give a template)');
  if (tpl && tpl.kind !== kind) fail('kind', `template "${tpl.name}" is of kind ${tpl.kind}, not ${kind}`);
  if (!tpl && !ctx.kinds.has(kind)) fail('kind', `unknown kind "${kind}" (known: ${[...ctx.kinds].sort().join(', ')})`);
  // A kind's module checks jobs without a template; a template's kind runs only what the worker's config says.
  const mod = tpl ? undefined : kindModule(kind);
  if (mod?.needsTemplate) fail('template', `jobs of kind ${kind} need a template`);

  const params = checkParams(j.params, f('params'));
  const known = tpl ? [...new Set([...tpl.required, ...Object.keys(tpl.params), ...(kindModule(tpl.kind)?.templateParams ?? [])])] : mod?.params;
  if (tpl) {
    const unknown = Object.keys(params).filter((n) => !known?.includes(n));
    for (const name of tpl.required) {
      if (params[name] !== undefined) continue;
      // A required param missing beside an unknown one like it: the same typo, named as such.
      const typo = closest(name, unknown);
      fail(`params.${name}`, `required by template ${tpl.name}${typo ? ` (the job gives "${typo}": a typo of "${name}"?)` : ''}`);
    }
    for (const [name, spec] of Object.entries(tpl.params)) {
      const v = params[name];
      if (v === undefined) continue;
      checkParamType(spec.type ?? 'string', v, f(`params.${name}`));
      if (spec.pattern !== undefined && !matchesPattern(spec.pattern, String(v), `template ${tpl.name} params.${name}.pattern`)) fail(`params.${name}`, `does not match ${spec.pattern}`);
    }
  }

  mod?.check?.(params, f('params'));
  const kindSecrets = mod?.secretsOf?.(params) ?? [];
  // After what is missing or malformed: a typo is named once the rest is known to be right.
  if (known) {
    for (const name of Object.keys(params)) {
      if (known.includes(name)) continue;
      const like = closest(name, known);
      const takes = `${tpl ? `template ${tpl.name}` : `kind ${kind}`} takes ${known.join(', ') || 'none'}`;
      fail(`params.${name}`, `unknown param${like ? ` — did you mean "${like}"?` : ''} (${takes})`);
    }
  }

  const secrets = [...new Set([...(tpl?.secrets ?? []), ...kindSecrets, ...optStringArray(j.secrets, f('secrets'))])];
  const queue = optString(j.queue, f('queue')) ?? JOB_DEFAULTS.queue;
  if (!NAME.test(queue)) fail('queue', 'letters, digits and _ . : @ - only, at most 128');
  const tags = optStringArray(j.tags, f('tags'));
  for (const t of tags) if (t.length === 0 || t.length > 200) fail('tags', 'each tag is 1 to 200 characters');
  const owner = j.owner === null ? null : (optString(j.owner, f('owner')) ?? null);
  const priority = optInt(j.priority, f('priority')) ?? JOB_DEFAULTS.priority;
  const maxAttempts = optInt(j.maxAttempts, f('maxAttempts')) ?? tpl?.maxAttempts ?? JOB_DEFAULTS.maxAttempts;
  if (maxAttempts < 1) fail('maxAttempts', 'must be at least 1');
  const backoffMs = j.backoff === undefined ? (tpl?.backoffMs ?? JOB_DEFAULTS.backoffMs) : durationOf(j.backoff, f('backoff'));
  const timeLimitMs = j.timeLimit === undefined || j.timeLimit === null ? (tpl ? tpl.timeLimitMs : (ctx.timeLimits?.[kind] ?? mod?.timeLimit?.defaultMs ?? null)) : durationOf(j.timeLimit, f('timeLimit'));
  if (timeLimitMs !== null && timeLimitMs <= 0) fail('timeLimit', 'must be positive');

  let concurrencyKey = j.concurrencyKey === null ? null : (optString(j.concurrencyKey, f('concurrencyKey')) ?? null);
  let concurrencyLimit = j.concurrencyLimit === null ? null : (optInt(j.concurrencyLimit, f('concurrencyLimit')) ?? null);
  if (concurrencyKey === null && tpl?.concurrency) {
    concurrencyKey = fillPlaceholders(tpl.concurrency.key, params, `template ${tpl.name} concurrency.key`);
    concurrencyLimit ??= tpl.concurrency.limit;
  } else if (concurrencyKey === null && j.concurrencyKey !== null && mod?.concurrency) {
    concurrencyKey = mod.concurrency.key(params);
    concurrencyLimit ??= mod.concurrency.limit;
  }
  if (concurrencyKey !== null && concurrencyLimit === null) fail('concurrencyLimit', 'required with concurrencyKey');
  if (concurrencyLimit !== null && concurrencyLimit < 1) fail('concurrencyLimit', 'must be at least 1');
  if (concurrencyKey === null) concurrencyLimit = null;
  const node = j.node === null ? null : (optString(j.node, f('node')) ?? null);
  if (node !== null && !NAME.test(node)) fail('node', 'letters, digits and _ . : @ - only, at most 128');

  return {
    id: newJobId(ctx.now),
    queue,
    kind,
    template: tpl?.name ?? null,
    params,
    secrets,
    owner,
    tags,
    priority,
    runAt: runAtOf(j.runAt, f('runAt'), ctx.now),
    maxAttempts,
    backoffMs,
    backoffMaxMs: JOB_DEFAULTS.backoffMaxMs,
    timeLimitMs,
    concurrencyKey,
    concurrencyLimit,
    node,
    parentId: null,
  };
}

function checkParams(v: unknown, field: string): Params {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValidationError(`${field}: must be an object of name: value`, field);
  const out: Params = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_PARAMS) throw new ValidationError(`${field}: at most ${MAX_PARAMS} params`, field);
  for (const [k, val] of entries) {
    const path = `${field}.${k}`;
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(k)) throw new ValidationError(`${path}: a param name is letters, digits, _ and - and starts with a letter or _`, path);
    if (typeof val === 'string') {
      if (val.length > MAX_VALUE) throw new ValidationError(`${path}: longer than ${MAX_VALUE} characters`, path);
      if (val.includes('\0')) throw new ValidationError(`${path}: contains a NUL character`, path);
      out[k] = val;
    } else if ((typeof val === 'number' && Number.isFinite(val)) || typeof val === 'boolean') out[k] = val;
    else throw new ValidationError(`${path}: must be a string, number or boolean, got ${val === null ? 'null' : Array.isArray(val) ? 'an array' : typeof val}`, path);
  }
  return out;
}

function optString(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ValidationError(`${field}: must be a non-empty string`, field);
  return v;
}

function optStringArray(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ValidationError(`${field}: must be an array of strings`, field);
  return v as string[];
}

function optInt(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ValidationError(`${field}: must be an integer, got ${quoted(v)}`, field);
  return v;
}

function durationOf(v: unknown, field: string): number {
  if (typeof v !== 'string' && typeof v !== 'number') throw new ValidationError(`${field}: must be a duration such as "30m" or a number of seconds`, field);
  return parseDuration(v, field);
}

function runAtOf(v: unknown, field: string, now: number): number {
  if (v === undefined || v === null) return now;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') return parseTime(v, field, now, 1);
  throw new ValidationError(`${field}: must be an ISO 8601 time, a duration from now such as "10m", or epoch milliseconds, got ${quoted(v)}`, field);
}
