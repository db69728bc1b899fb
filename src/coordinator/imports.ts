import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorMessage, ValidationError } from '../core/errors.js';
import type { Job, JobState } from '../core/job.js';
import type { TemplateInfo } from '../core/reports.js';
import { describeCell, readTable, tableColumns } from '../importers/index.js';
import { freshImportTag, matchColumns, requiredProblems, type TableProblem } from '../importers/table-jobs.js';
import type { ImportAnswer, ImportRequest } from '../protocol/messages.js';

/** The problems an import lists before it gives up looking. */
const MAX_PROBLEMS = 200;
/** Rows per enqueue: each chunk is created whole or not at all. */
const CHUNK = 20_000;
/** The most rows one upload may have (`drover import` takes bigger files, a chunk at a time); the reader stops past it. */
export const MAX_IMPORT_ROWS = 50_000;
/** An upload not read within this is given up (a corrupt xlsx can leave its reader waiting for ever), ms. */
const READ_TIMEOUT_MS = 60_000;

/** What an import needs of the coordinator. */
export interface ImportTarget {
  templates(): TemplateInfo[];
  kindParams(): Record<string, string[]>;
  validate(inputs: unknown[]): unknown[];
  enqueue(inputs: unknown[]): Promise<{ jobs: Job[] }>;
  counts(f: { tag: string }): Promise<Record<JobState, number>>;
}

/**
 * A table file (the dashboard's upload) made into jobs, one per row, the way `drover import`
 * does: columns matched to the template's or kind's params whatever their case, every row checked
 * before anything is created, each problem named by row and column. With `dryRun`, only checked.
 */
export async function importTable(c: ImportTarget, req: ImportRequest, dryRun: boolean): Promise<ImportAnswer> {
  const name = safeName(req.name ?? `upload.${req.format}`);
  const { rows, file } = await readUpload(req, name);
  // The readers name the file by its path: the temporary directory means nothing to the user.
  const named = (message: string) => message.split(file).join(name);
  const tag = `import:${name}`;
  if (rows.length === 0) return { rows: 0, errors: [{ row: null, column: null, message: `${name}: no data rows below the header` }], jobs: [], tag };
  const table = { name, columns: tableColumns(rows) };
  const d = req.defaults ?? {};
  const given = d.params ?? {};
  const problems: TableProblem[] = [];
  const template = req.template === undefined ? null : c.templates().find((x) => x.name === req.template);
  if (template === undefined) throw new ValidationError(`template: unknown template "${req.template}" (known: ${c.templates().map((x) => x.name).join(', ') || 'none'})`, 'template');
  const known = template ? [...template.required, ...Object.keys(template.params)] : (c.kindParams()[req.kind as string] ?? []);
  // A header names a param whatever its case: "Server" is the template's `server`.
  const columnOf = matchColumns(rows, table.columns, known);
  if (template) problems.push(...requiredProblems(table, template.name, template.required, rows, columnOf, given, MAX_PROBLEMS));
  const common = {
    ...(d.queue ? { queue: d.queue } : {}),
    ...(d.owner ? { owner: d.owner } : {}),
    ...(d.priority !== undefined ? { priority: d.priority } : {}),
    ...(d.maxAttempts !== undefined ? { maxAttempts: d.maxAttempts } : {}),
    ...(req.template !== undefined ? { template: req.template } : { kind: req.kind as string }),
  };
  const specs = rows.map((r) => ({ ...common, tags: [...(d.tags ?? []), tag], params: { ...given, ...r.params } }));
  // A missing column is said once, not again for each row.
  const missing = new Set(problems.flatMap((p) => (p.row === null && p.column !== null ? [p.column] : [])));
  // Every row on its own, so that each bad one is named, not just the first.
  for (let i = 0; i < specs.length && problems.length < MAX_PROBLEMS; i++) {
    const row = rows[i];
    if (!row || problems.some((p) => p.row === row.row)) continue;
    try {
      c.validate([specs[i]]);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const param = /^params\.([A-Za-z0-9_-]+):/.exec(err.message)?.[1];
      if (param !== undefined && missing.has(param)) continue;
      const column = param === undefined ? null : (columnOf.get(param) ?? param);
      const rest = err.message.slice(err.message.indexOf(':') + 1).trim();
      problems.push({ row: row.row, column, message: `${column ? describeCell(row, column) : `${name} row ${row.row}`}: ${rest}` });
    }
  }
  if (problems.length > 0) {
    const errors = problems.map((p) => ({ ...p, message: named(p.message) })).sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
    return { rows: rows.length, errors, jobs: [], tag };
  }
  if (dryRun) return { rows: rows.length, errors: [], jobs: [], tag };
  const fresh = await freshImportTag(name, (t) => c.counts({ tag: t }));
  const ids: string[] = [];
  for (let i = 0; i < specs.length; i += CHUNK) {
    const created = await c.enqueue(specs.slice(i, i + CHUNK).map((s) => ({ ...s, tags: [...(d.tags ?? []), fresh] })));
    ids.push(...created.jobs.map((j) => j.id));
  }
  return { rows: rows.length, errors: [], jobs: ids, tag: fresh };
}

/** The upload's rows, read from a private temporary file (the table readers read files). */
async function readUpload(req: ImportRequest, name: string) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-import-'));
  try {
    const file = path.join(dir, name);
    await fs.writeFile(file, Buffer.from(req.data, 'base64'), { mode: 0o600 });
    try {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ValidationError(`${name}: could not be read within ${READ_TIMEOUT_MS / 1000} s (a damaged file?)`, 'data')), READ_TIMEOUT_MS);
      });
      try {
        return { rows: await Promise.race([readTable(file, { format: req.format, maxRows: MAX_IMPORT_ROWS }), late]), file };
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      const message = errorMessage(err).split(file).join(name);
      throw new ValidationError(message.startsWith(name) ? message : `${name}: ${message}`, 'data');
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The upload's name as a plain file name: no directories, no control characters, at most 100
 * characters and 200 bytes (100 characters of `日` are 300 bytes, past NAME_MAX: writing the
 * upload failed with ENAMETOOLONG, a 500). Never half a surrogate pair.
 */
function safeName(name: string): string {
  let base = path.basename(name.replaceAll('\\', '/')).replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 100).replace(/[\ud800-\udbff]$/, '');
  while (Buffer.byteLength(base) > 200) base = base.slice(0, -1).replace(/[\ud800-\udbff]$/, '');
  return base === '' || base === '.' || base === '..' ? 'upload' : base;
}
