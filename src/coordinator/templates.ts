import type { TemplateInfo, TemplateSummary } from '../core/reports.js';
import { summarizeTemplate, type Template } from '../runners/template.js';

/**
 * Templates the coordinator knows: those of its own config first, then those advertised by
 * workers (a worker runs only templates from its own config; the coordinator learns their shape
 * so it can validate jobs and redact their secrets before any worker sees them).
 */
export class TemplateCatalog {
  private readonly own = new Map<string, TemplateInfo>();
  private readonly advertised = new Map<string, TemplateInfo>();

  constructor(templates: Iterable<Template> = []) {
    for (const t of templates) this.own.set(t.name, summarizeTemplate(t));
  }

  /** The coordinator's own templates, replaced (a reload on SIGHUP). */
  replaceOwn(templates: Iterable<Template>): void {
    this.own.clear();
    for (const t of templates) this.own.set(t.name, summarizeTemplate(t));
  }

  /** Records templates a worker advertised. The coordinator's own definitions win. */
  learn(templates: Array<TemplateSummary & Partial<TemplateInfo>>): void {
    for (const t of templates) {
      if (this.own.has(t.name)) continue;
      this.advertised.set(t.name, { params: {}, concurrency: null, timeLimitMs: null, maxAttempts: null, backoffMs: null, ...t });
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
}
