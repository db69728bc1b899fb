import path from 'node:path';
import { Command } from 'commander';
import { ApiError, type ApiClient } from '../client/api-client.js';
import { ValidationError } from '../core/errors.js';
import type { TemplateInfo } from '../coordinator/templates.js';
import type { TableRow } from '../importers/index.js';
import { addClientFlags, collectParam, withClient, type ClientFlags } from './context.js';
import { jobFieldsOf, jobOptions, type JobFieldFlags } from './job-commands.js';

interface ImportFlags extends ClientFlags, JobFieldFlags {
  template?: string;
  kind?: string;
  param?: Record<string, string>;
  sheet?: string;
  format?: 'xlsx' | 'csv' | 'jsonl';
  dryRun?: boolean;
  dest?: string;
}

/** Rows per request. Up to this many rows go in one atomic request. */
const CHUNK = 20_000;

export function registerImportCommand(program: Command): void {
  addClientFlags(jobOptions(program.command('import <file>')))
    .description('create one job per row of a spreadsheet (.xlsx), CSV/TSV or JSONL file; the header row names the params')
    .option('--template <name>', 'template from the config')
    .option('--kind <kind>', 'a built-in kind instead of a template')
    .option('--param <k=v>', 'a param added to every row (repeatable; row values win)', collectParam)
    .option('--sheet <name>', 'worksheet (default the first)')
    .option('--format <fmt>', 'xlsx, csv or jsonl (default from the extension)')
    .option('--dry-run', 'check every row, create nothing')
    .option('--dest <name[:dir]>', 'download: the destination of every row (as --param dest=...)')
    .action(async (file: string, f: ImportFlags) => {
      if (!f.template === !f.kind) throw new ValidationError('give exactly one of --template NAME or --kind KIND');
      // Loaded on use: the spreadsheet reader is heavy and only this command needs it.
      const { readTable } = await import('../importers/index.js');
      const rows = await readTable(file, { ...(f.format ? { format: f.format } : {}), ...(f.sheet ? { sheet: f.sheet } : {}) });
      if (rows.length === 0) throw new ValidationError(`${path.basename(file)}: no data rows below the header`);
      await withClient(f, async (api) => {
        if (f.template) await checkRequired(api, f.template, rows, f.param ?? {});
        const common = { ...jobFieldsOf(f), tags: [...(f.tag ?? []), `import:${path.basename(file)}`] };
        const given = { ...(f.param ?? {}), ...(f.dest ? { dest: f.dest } : {}) };
        const jobs = rows.map((r) => ({ ...common, ...(f.template ? { template: f.template } : { kind: f.kind }), params: { ...given, ...r.params } }));
        // Everything is validated before anything is created, so a bad row leaves no job behind.
        if (f.dryRun || jobs.length > CHUNK) for (let i = 0; i < jobs.length; i += CHUNK) await send(api, jobs, rows, i, true);
        if (f.dryRun) {
          process.stdout.write(`${jobs.length} rows are valid; nothing created (--dry-run)\n`);
          return;
        }
        let first: string | undefined;
        let last: string | undefined;
        for (let i = 0; i < jobs.length; i += CHUNK) {
          const created = await send(api, jobs, rows, i, false);
          first ??= created[0];
          last = created[created.length - 1] ?? last;
        }
        process.stdout.write(`created ${jobs.length} jobs (${first} … ${last}), tagged import:${path.basename(file)}\n`);
      });
    });
}

async function send(api: ApiClient, jobs: object[], rows: TableRow[], offset: number, dryRun: boolean): Promise<string[]> {
  const { describeCell } = await import('../importers/index.js');
  const slice = jobs.slice(offset, offset + CHUNK);
  try {
    const res = await api.post<{ ids?: string[] }>(`/api/v1/jobs?${dryRun ? 'dryRun=true' : 'return=ids'}`, { jobs: slice });
    return res.ids ?? [];
  } catch (err) {
    // Map `jobs[i].params.x: ...` back to the row and column it came from.
    const m = err instanceof ApiError ? /^jobs\[(\d+)\]\.(?:params\.([A-Za-z0-9_-]+))?/.exec(err.message) : null;
    if (!m || !(err instanceof ApiError)) throw err;
    const row = rows[offset + Number(m[1])];
    if (!row) throw err;
    const rest = err.message.slice(err.message.indexOf(':') + 1).trim();
    throw new ValidationError(`${m[2] ? describeCell(row, m[2]) : `row ${row.row}`}: ${rest}`);
  }
}

async function checkRequired(api: ApiClient, template: string, rows: TableRow[], common: Record<string, string>): Promise<void> {
  const { describeCell } = await import('../importers/index.js');
  const { templates } = await api.get<{ templates: TemplateInfo[] }>('/api/v1/templates');
  const t = templates.find((x) => x.name === template);
  if (!t) throw new ValidationError(`unknown template "${template}" (known: ${templates.map((x) => x.name).join(', ') || 'none'})`);
  for (const row of rows) {
    for (const name of t.required) {
      if (row.params[name] === undefined && common[name] === undefined) throw new ValidationError(`${describeCell(row, name)}: missing, required by template ${template}`);
    }
  }
}
