/**
 * Reads a CSV (or, with a tab delimiter, TSV) file whose first row names the parameters.
 * Values stay strings (no number guessing). A UTF-8 BOM is dropped; quoted fields may hold
 * delimiters, quotes ("") and newlines; whitespace around unquoted fields is trimmed, inside
 * quotes it is kept. Rows are numbered by the line they start on (header = row 1), which is the
 * row a spreadsheet shows unless a quoted field spans lines.
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { ValidationError, errorMessage } from '../core/errors.js';
import type { Params } from '../core/job.js';
import { Header, makeRow, setParam, type TableRow, tooManyRows } from './table.js';

interface CsvRecord {
  record: string[];
  /** The record's text, after any blank lines skipped before it (csv-parse keeps only the \r of a \r\n ending). */
  raw: string;
}

/** Reads `file`; `delimiter` defaults to a comma. */
export async function readCsv(file: string, delimiter = ',', maxRows = Infinity): Promise<TableRow[]> {
  const parser = parse({
    delimiter,
    bom: true,
    raw: true, // to number rows by line: csv-parse's own line count is off after a quoted \r\n
    trim: true,
    relax_quotes: true, // a stray quote inside an unquoted field is kept as text
    relax_column_count: true, // checked below, with a better message
    skip_empty_lines: true,
  });
  // pipeline, not pipe: a read error then fails the parser instead of leaving it waiting.
  pipeline(fs.createReadStream(file), parser, () => {});
  let header: Header | undefined;
  const rows: TableRow[] = [];
  let linesBefore = 0;
  try {
    for await (const rec of parser as AsyncIterable<CsvRecord>) {
      const fields = rec.record;
      const r = linesBefore + countLineBreaks(/^[\r\n]*/.exec(rec.raw)?.[0] ?? '') + 1;
      linesBefore += countLineBreaks(rec.raw);
      if (fields.every((f) => f === '')) continue; // an entirely empty row, e.g. ",,,"
      if (!header) {
        header = new Header(file, r, String, fields.map((f, i) => [i + 1, f] as const));
        continue;
      }
      const params: Params = {};
      const cells: Record<string, string> = {};
      for (const [i, value] of fields.entries()) {
        if (value === '') continue;
        const pos = i + 1;
        if (pos > header.width) {
          throw new ValidationError(`${file} row ${r}: the row has ${fields.length} fields but the header has ${header.width} (a value in column ${pos})`);
        }
        const name = header.nameAt(r, pos);
        if (setParam(params, name, value)) cells[name] = header.at(r, pos, name);
      }
      if (rows.length >= maxRows) throw tooManyRows(file, maxRows);
      rows.push(makeRow(header, r, params, cells));
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new ValidationError(`${file}${line ? ` near line ${line}` : ''}: not valid CSV (${err.message})`);
    }
    throw new ValidationError(`${file}: cannot read (${errorMessage(err)})`);
  } finally {
    parser.destroy();
  }
  if (!header) throw new ValidationError(`${file}: the file is empty; its first row must name the parameters`);
  return rows;
}

/** Line breaks in `s`: \r\n, \n or a lone \r. */
function countLineBreaks(s: string): number {
  return s.match(/\r\n|\n|\r/g)?.length ?? 0;
}
