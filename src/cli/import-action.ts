import path from 'node:path';
import { ApiError } from '../client/api-client.js';
import type { DroverClient } from '../client/drover-client.js';
import { ValidationError } from '../core/errors.js';
import { describeCell, readTable, type TableRow } from '../importers/index.js';
import type { JobSpec } from '../protocol/messages.js';
import { withClient } from './client-context.js';
import { jobFieldsOf, type ClientFlags, type JobFieldFlags } from './flags.js';

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

export async function importAction(file: string, f: ImportFlags): Promise<void> {
  if (!f.template === !f.kind) throw new ValidationError('give exactly one of --template NAME or --kind KIND');
  const rows = await readTable(file, { ...(f.format ? { format: f.format } : {}), ...(f.sheet ? { sheet: f.sheet } : {}) });
  if (rows.length === 0) throw new ValidationError(`${path.basename(file)}: no data rows below the header`);
  await withClient(f, async (api) => {
    if (f.template) await checkRequired(api, f.template, rows, f.param ?? {});
    const common = { ...jobFieldsOf(f), tags: [...(f.tag ?? []), `import:${path.basename(file)}`] };
    const given = { ...(f.param ?? {}), ...(f.dest ? { dest: f.dest } : {}) };
    const jobs: JobSpec[] = rows.map((r) => ({ ...common, ...(f.template ? { template: f.template } : { kind: f.kind as string }), params: { ...given, ...r.params } }));
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
}

async function send(api: DroverClient, jobs: JobSpec[], rows: TableRow[], offset: number, dryRun: boolean): Promise<string[]> {
  const slice = jobs.slice(offset, offset + CHUNK);
  try {
    if (dryRun) {
      await api.validate(slice);
      return [];
    }
    return await api.enqueueManyIds(slice);
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

async function checkRequired(api: DroverClient, template: string, rows: TableRow[], common: Record<string, string>): Promise<void> {
  const templates = await api.templates();
  const t = templates.find((x) => x.name === template);
  if (!t) throw new ValidationError(`unknown template "${template}" (known: ${templates.map((x) => x.name).join(', ') || 'none'})`);
  for (const row of rows) {
    for (const name of t.required) {
      if (row.params[name] === undefined && common[name] === undefined) throw new ValidationError(`${describeCell(row, name)}: missing, required by template ${template}`);
    }
  }
}
