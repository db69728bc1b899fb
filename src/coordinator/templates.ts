import type { TemplateInfo } from '../core/reports.js';
import { summarizeTemplate, type Template } from '../runners/template.js';

/** Told when an advertisement differs from what the coordinator keeps: what, and what it kept. */
export type TemplateConflict = (message: string) => void;

/**
 * Templates the coordinator knows: those of its own config first, then those advertised by
 * workers (a worker runs only templates from its own config; the coordinator learns their shape
 * so it can validate jobs and redact their secrets before any worker sees them).
 *
 * An advertisement never weakens what the coordinator knows: its own config wins outright, and
 * among workers the secrets and required params are the union of all advertisements, the
 * concurrency limit and time limit the strictest, the first param specs kept. So one worker's
 * token cannot unredact a password or lift a limit. A conflict is told (logged), once per change.
 */
export class TemplateCatalog {
  private readonly own = new Map<string, TemplateInfo>();
  private readonly advertised = new Map<string, TemplateInfo>();

  constructor(
    templates: Iterable<Template> = [],
    private readonly onConflict: TemplateConflict = () => undefined,
  ) {
    for (const t of templates) this.own.set(t.name, summarizeTemplate(t));
  }

  /** The coordinator's own templates, replaced (a reload on SIGHUP). */
  replaceOwn(templates: Iterable<Template>): void {
    this.own.clear();
    for (const t of templates) this.own.set(t.name, summarizeTemplate(t));
  }

  /** Records templates a worker advertised (checked by the protocol layer). */
  learn(templates: readonly TemplateInfo[], worker = 'a worker'): void {
    for (const t of templates) {
      const own = this.own.get(t.name);
      if (own) {
        const weaker = weakerIn(own, t);
        if (weaker.length > 0) this.tell(`template ${t.name}: ${worker} advertises ${weaker.join(', ')} unlike the coordinator's config; the config's definition is used`);
        continue;
      }
      const had = this.advertised.get(t.name);
      if (!had) {
        this.advertised.set(t.name, t);
        continue;
      }
      const { merged, conflicts } = mergeAdverts(had, t);
      if (conflicts.length > 0) this.tell(`template ${t.name}: ${worker} advertises ${conflicts.join(', ')} unlike other workers; kept ${conflicts.length === 1 ? 'the stricter or first' : 'the stricter or first of each'} (define it in the coordinator's config to settle it)`);
      this.advertised.set(t.name, merged);
    }
  }

  get(name: string): TemplateInfo | undefined {
    return this.own.get(name) ?? this.advertised.get(name);
  }

  names(): string[] {
    return [...new Set([...this.own.keys(), ...this.advertised.keys()])].sort();
  }

  all(): TemplateInfo[] {
    return this.names().map((n) => this.get(n) as TemplateInfo);
  }

  private readonly told = new Set<string>();
  private tell(message: string): void {
    // A worker advertises on every lease: tell each conflict once.
    if (this.told.has(message)) return;
    if (this.told.size > 10_000) this.told.clear();
    this.told.add(message);
    this.onConflict(message);
  }
}

const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])];
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
/** The stricter of two limits, null being none. */
const stricter = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/** What an advertisement says that would weaken `kept`: fewer secrets or required params, a looser key or limit. */
function weakerIn(kept: TemplateInfo, t: TemplateInfo): string[] {
  const out: string[] = [];
  if (kept.kind !== t.kind) out.push(`kind ${t.kind}`);
  if (!kept.secrets.every((s) => t.secrets.includes(s))) out.push(`secrets [${t.secrets.join(', ')}]`);
  if (!kept.required.every((s) => t.required.includes(s))) out.push(`required [${t.required.join(', ')}]`);
  if (kept.concurrency && (t.concurrency?.key !== kept.concurrency.key || t.concurrency.limit > kept.concurrency.limit)) out.push(`concurrency ${t.concurrency ? `${t.concurrency.key} limit ${t.concurrency.limit}` : 'none'}`);
  if (kept.timeLimitMs !== null && (t.timeLimitMs === null || t.timeLimitMs > kept.timeLimitMs)) out.push(`time limit ${t.timeLimitMs ?? 'none'}`);
  for (const [name, spec] of Object.entries(kept.params)) if (JSON.stringify(t.params[name]) !== JSON.stringify(spec)) out.push(`param ${name}`);
  return out;
}

/** Two workers' advertisements of one template as one that is at least as strict as each. */
function mergeAdverts(had: TemplateInfo, t: TemplateInfo): { merged: TemplateInfo; conflicts: string[] } {
  const conflicts = weakerIn(had, t);
  if (!sameSet(had.secrets, union(had.secrets, t.secrets))) conflicts.push(`more secrets [${t.secrets.join(', ')}]`);
  let concurrency = had.concurrency ?? t.concurrency;
  if (had.concurrency && t.concurrency && had.concurrency.key === t.concurrency.key) concurrency = { key: had.concurrency.key, limit: Math.min(had.concurrency.limit, t.concurrency.limit) };
  return {
    merged: {
      name: had.name,
      kind: had.kind,
      required: union(had.required, t.required),
      secrets: union(had.secrets, t.secrets),
      params: { ...t.params, ...had.params },
      concurrency,
      timeLimitMs: stricter(had.timeLimitMs, t.timeLimitMs),
      maxAttempts: had.maxAttempts ?? t.maxAttempts,
      backoffMs: had.backoffMs ?? t.backoffMs,
    },
    conflicts,
  };
}
