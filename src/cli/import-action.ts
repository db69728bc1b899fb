import path from 'node:path';
import { ApiError } from '../client/api-client.js';
import type { DroverClient } from '../client/drover-client.js';
import { ValidationError } from '../core/errors.js';
import { describeCell, readTable, tableColumns, type TableRow } from '../importers/index.js';
import { freshImportTag, matchColumns, missingColumnMessage, requiredProblems, type TableInfo, type TableProblem } from '../importers/table-jobs.js';
import type { JobSpec } from '../protocol/messages.js';
import { withClient } from './client-context.js';
import { clientFlagsOf, jobFieldsOf, type ClientFlags, type JobFieldFlags } from './flags.js';
import { waitAction } from './wait-action.js';

interface ImportFlags extends ClientFlags, JobFieldFlags {
  template?: string;
  kind?: string;
  param?: Record<string, string>;
  sheet?: string;
  format?: 'xlsx' | 'csv' | 'jsonl';
  dryRun?: boolean;
  dest?: string;
  wait?: boolean;
}

/** Rows per request. Up to this many rows go in one atomic request. */
const CHUNK = 20_000;

export async function importAction(file: string, f: ImportFlags): Promise<void> {
  if (!f.template === !f.kind) throw new ValidationError('give exactly one of --template NAME or --kind KIND');
  const rows = await readTable(file, { ...(f.format ? { format: f.format } : {}), ...(f.sheet ? { sheet: f.sheet } : {}) });
  if (rows.length === 0) throw new ValidationError(`${path.basename(file)}: no data rows below the header`);
  await withClient(f, async (api) => {
    const table = { name: path.basename(file), columns: tableColumns(rows) };
    let required: string[] = [];
    let known: string[] = [];
    if (f.template) {
      const templates = await api.templates();
      const t = templates.find((x) => x.name === f.template);
      if (!t) throw new ValidationError(`unknown template "${f.template}" (known: ${templates.map((x) => x.name).join(', ') || 'none'})`);
      required = t.required;
      known = [...t.required, ...Object.keys(t.params)];
    } else known = (await api.kindParams())[f.kind as string] ?? [];
    // A header names a param whatever its case: "Server" is the template's `server`.
    const columnOf = matchColumns(rows, table.columns, known);
    const given = { ...(f.param ?? {}), ...(f.dest ? { dest: f.dest } : {}) };
    if (f.template) checkRequired(table, f.template, required, rows, columnOf, given);
    const tag = f.dryRun ? `import:${table.name}` : await freshImportTag(table.name, (tag) => api.counts({ tag }));
    const common = { ...jobFieldsOf(f), tags: [...(f.tag ?? []), tag] };
    const jobs: JobSpec[] = rows.map((r) => ({ ...common, ...(f.template ? { template: f.template } : { kind: f.kind as string }), params: { ...given, ...r.params } }));
    const context = { table, rows, columnOf };
    // Everything is validated before anything is created, so a bad row leaves no job behind.
    if (f.dryRun || jobs.length > CHUNK) for (let i = 0; i < jobs.length; i += CHUNK) await send(api, jobs, context, i, true);
    if (f.dryRun) {
      process.stdout.write(`${jobs.length === 1 ? '1 row is' : `${jobs.length} rows are`} valid; nothing created (--dry-run)\n`);
      return;
    }
    let first: string | undefined;
    let last: string | undefined;
    for (let i = 0; i < jobs.length; i += CHUNK) {
      const created = await send(api, jobs, context, i, false);
      first ??= created[0];
      last = created[created.length - 1] ?? last;
    }
    process.stdout.write(`created ${jobs.length} jobs (${first} … ${last}), tagged ${tag}\n`);
    if (f.wait) await waitAction({ ...clientFlagsOf(f), tag });
  });
}

/** A problem of the table as the error `drover import` stops with. */
function problemError(p: TableProblem): ValidationError {
  return new ValidationError(p.message);
}

async function send(api: DroverClient, jobs: JobSpec[], c: { table: TableInfo; rows: TableRow[]; columnOf: Map<string, string> }, offset: number, dryRun: boolean): Promise<string[]> {
  const slice = jobs.slice(offset, offset + CHUNK);
  try {
    if (dryRun) {
      await api.validate(slice);
      return [];
    }
    return await api.enqueueManyIds(slice);
  } catch (err) {
    // Map `jobs[i].params.x: ...` (`params.x: ...` for a batch of one) back to the row and column it came from.
    const m = err instanceof ApiError ? /^(?:jobs\[(\d+)\]\.)?(?:params\.([A-Za-z0-9_-]+))?/.exec(err.message) : null;
    if (!m || !(err instanceof ApiError) || (m[1] === undefined && (slice.length !== 1 || m[2] === undefined))) throw err;
    const row = c.rows[offset + Number(m[1] ?? 0)];
    if (!row) throw err;
    const rest = err.message.slice(err.message.indexOf(':') + 1).trim();
    const param = m[2];
    // A param no column of the file holds, that the kind requires: the column is missing.
    if (param !== undefined && !c.columnOf.has(param) && /^required\b/.test(rest)) throw new ValidationError(missingColumnMessage(c.table, param, rest));
    throw new ValidationError(`${param ? describeCell(row, c.columnOf.get(param) ?? param) : `row ${row.row}`}: ${rest}`);
  }
}

function checkRequired(table: TableInfo, template: string, required: string[], rows: TableRow[], columnOf: Map<string, string>, common: Record<string, string>): void {
  const first = requiredProblems(table, template, required, rows, columnOf, common, 1)[0];
  if (first) throw problemError(first);
}
