import type { ParamSpec, TemplateInfo } from '../core/reports.js';
import { SUPERVISE_DEFAULTS } from '../supervise/defaults.js';
import type { ManagerSettings } from '../supervise/encoding-manager.js';

/**
 * A template: a named command from the worker's own config (`templates:` in drover.yaml), an argv
 * with `{param}` placeholders that a job fills with its params. Durations are in ms.
 */
export interface Template {
  name: string;
  /** The kind that runs it: `exec` (any command) or `ffmpeg`. Default `exec`. */
  kind: string;
  argv: string[];
  secrets: string[];
  params: Record<string, ParamSpec>;
  /** Params that must be given: placeholders (argv, env, cwd, outdir, key) without a default. */
  required: string[];
  concurrency: { key: string; limit: number } | null;
  timeLimitMs: number | null;
  maxAttempts: number | null;
  backoffMs: number | null;
  /** Below the worker's output root. Default `{template}_{id}`. */
  outdir: string;
  env: Record<string, string>;
  /** Relative to the outdir; null runs in the outdir. */
  cwd: string | null;
  /** SIGTERM → SIGKILL when stopping, ms. Default 10000. */
  killGraceMs: number;
  /** No-output watchdog, ms; null when off (the default). */
  stallTimeoutMs: number | null;
  /** Kind ffmpeg: restarted with backoff when it fails or ends. Default false. */
  live: boolean;
  /** Kind ffmpeg: manager settings over the worker's (`checks:`). */
  checks: Partial<ManagerSettings>;
}

export const TEMPLATE_DEFAULTS = {
  kind: 'exec',
  outdir: '{template}_{id}',
  killGraceMs: SUPERVISE_DEFAULTS.killGraceMs,
  live: false,
} as const;

/** Placeholders Drover fills itself; a template may use them without a param. */
export const BUILTIN_PLACEHOLDERS = ['id', 'outdir', 'attempt', 'template', 'queue', 'owner'] as const;

/** What a worker tells the coordinator of a template, so jobs can be checked at enqueue. */
export function summarizeTemplate(t: Template): TemplateInfo {
  return {
    name: t.name,
    kind: t.kind,
    required: t.required,
    secrets: t.secrets,
    params: t.params,
    concurrency: t.concurrency,
    timeLimitMs: t.timeLimitMs,
    maxAttempts: t.maxAttempts,
    backoffMs: t.backoffMs,
  };
}
