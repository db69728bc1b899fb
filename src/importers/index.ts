/**
 * Table importers: read prepared tasks, one per row, from .xlsx, .csv, .tsv or JSON Lines.
 *
 *   const rows = await readTable('cameras.xlsx');
 *   for (const r of rows) if (r.params.server === undefined) throw new ValidationError(`${describeCell(r, 'server')}: required`);
 */
import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../core/errors.js';
import { readCsv } from './csv.js';
import { readJsonl } from './jsonl.js';
import { TABLE_FORMATS, type ReadTableOptions, type TableFormat, type TableRow } from './table.js';

export { describeCell, PARAM_NAME_RE, TABLE_FORMATS, tableColumns } from './table.js';
export type { ReadTableOptions, TableFormat, TableRow } from './table.js';

/** Extension (lower case) → format. `.tsv` is CSV with tab delimiters. */
const EXTENSIONS: Record<string, TableFormat> = {
  '.xlsx': 'xlsx',
  '.csv': 'csv',
  '.tsv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
};
const SUPPORTED = '.xlsx, .csv, .tsv, .jsonl, .ndjson';

/** The format of `file` by its extension; a ValidationError for an unknown one. */
export function tableFormatOf(file: string): TableFormat {
  const ext = path.extname(file).toLowerCase();
  const format = EXTENSIONS[ext];
  if (format) return format;
  const hint = ext === '.xls' ? ' (save the old .xls workbook as .xlsx)' : '';
  const what = ext === '' ? 'no file extension' : `unknown file extension ${ext}`;
  throw new ValidationError(`${file}: ${what}${hint}; supported formats: ${SUPPORTED} (or give the format explicitly)`);
}

/**
 * Reads the data rows of a table file: every row after the header (xlsx, csv) or every
 * non-blank line (jsonl), skipping entirely empty rows. The format comes from the extension
 * unless `opts.format` is given; `opts.sheet` picks an xlsx worksheet (default: the first
 * visible one). Every problem is a ValidationError naming the file, row and column.
 */
export async function readTable(file: string, opts: ReadTableOptions = {}): Promise<TableRow[]> {
  const format = opts.format ?? tableFormatOf(file);
  if (!TABLE_FORMATS.includes(format)) {
    throw new ValidationError(`${file}: unknown format ${JSON.stringify(format)}; supported formats: ${TABLE_FORMATS.join(', ')}`, 'format');
  }
  if (opts.sheet !== undefined && format !== 'xlsx') {
    throw new ValidationError(`${file}: a sheet can only be chosen in an .xlsx file`, 'sheet');
  }
  await checkReadable(file);
  switch (format) {
    case 'xlsx':
      // Loaded when a spreadsheet is read: exceljs costs every coordinator 0.2 s and some 20 MB at start.
      return (await import('./xlsx.js')).readXlsx(file, opts.sheet, opts.maxRows);
    case 'csv':
      return readCsv(file, path.extname(file).toLowerCase() === '.tsv' ? '\t' : ',', opts.maxRows);
    case 'jsonl':
      return readJsonl(file, opts.maxRows);
  }
}

/** Fails with a plain message, rather than a stream error, if `file` cannot be opened. */
async function checkReadable(file: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    if ((await handle.stat()).isDirectory()) throw new ValidationError(`${file}: is a directory, not a file`);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ValidationError(`${file}: no such file`);
    if (code === 'EISDIR') throw new ValidationError(`${file}: is a directory, not a file`);
    throw new ValidationError(`${file}: cannot open (${code ?? String(err)})`);
  } finally {
    await handle?.close();
  }
}
