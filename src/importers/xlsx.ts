/**
 * Reads one worksheet of an .xlsx file with exceljs's streaming reader, so a sheet of 100k rows
 * is never held as a workbook. Cell values: numbers and booleans as they are, strings trimmed,
 * dates as ISO 8601 text, rich text and hyperlinks as their text, formulas as their cached result.
 */
import fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { ValidationError, errorMessage } from '../core/errors.js';
import type { ParamValue, Params } from '../core/job.js';
import { Header, columnLetters, makeRow, setParam, type TableRow, tooManyRows } from './table.js';

/** What the streaming reader knows once it has read xl/workbook.xml (not in exceljs's types). */
interface ReaderState {
  model?: { sheets?: Array<{ name: string; rId: string; state?: string }> };
  workbookRels?: Array<{ Id: string; Target: string }>;
  properties?: { model?: { date1904?: boolean } };
}
type SheetReader = AsyncIterable<ExcelJS.Row> & { name: string };

/** Reads the sheet named `sheet` (default: the first visible worksheet) of `file`. */
export async function readXlsx(file: string, sheet?: string, maxRows = Infinity): Promise<TableRow[]> {
  // Our own stream: exceljs pipes the input without watching it for errors, which would hang.
  const src = fs.createReadStream(file);
  const input = new PassThrough();
  let readError: Error | undefined;
  src.on('error', (err) => {
    readError = err;
    input.end();
  });
  src.pipe(input);
  guardEarlyEnd(input);
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache', // needed to tell dates from numbers
    hyperlinks: 'ignore', // a hyperlink cell then reads as its text
    entries: 'ignore',
  });
  const state = reader as unknown as ReaderState;
  const seen: string[] = [];
  let rows: TableRow[] | undefined;
  let failure: ValidationError | undefined;
  try {
    for await (const ws of reader as AsyncIterable<unknown>) {
      const sheetReader = ws as SheetReader;
      seen.push(sheetReader.name);
      const known = sheetNames(state);
      const wanted = sheet ?? defaultSheet(state);
      // exceljs leaves a sheet unnamed ("SheetN") when it cannot match it to workbook.xml.
      const match = sheet !== undefined ? sheetReader.name === sheet : wanted === undefined || sheetReader.name === wanted || !known.includes(sheetReader.name);
      if (!match || rows || failure) {
        // Skipped, but iterated to the end: exceljs deletes each spooled sheet as it moves on.
        releaseSpool(sheetReader, false);
        continue;
      }
      try {
        rows = await readSheet(file, sheetReader, state.properties?.model?.date1904 === true, maxRows);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        failure = err;
      } finally {
        releaseSpool(sheetReader, true);
      }
    }
  } catch (err) {
    throw new ValidationError(`${file}: not a readable .xlsx file (${readError ? errorMessage(readError) : errorMessage(err)})`);
  } finally {
    src.destroy();
    input.destroy();
  }
  if (failure) throw failure;
  if (rows) return rows;
  if (readError) throw new ValidationError(`${file}: not a readable .xlsx file (${errorMessage(readError)})`);
  const names = sheetNames(state).length > 0 ? sheetNames(state) : seen;
  if (names.length === 0) throw new ValidationError(`${file}: not a readable .xlsx file (no worksheets found)`);
  const list = names.map((n) => JSON.stringify(n)).join(', ');
  const what = sheet === undefined ? 'no worksheet to read' : `no sheet named ${JSON.stringify(sheet)}`;
  throw new ValidationError(`${file}: ${what}; the sheets are ${list}`);
}

/**
 * Works around a race in exceljs's unzipper: its zip parser emits 'end' by hand as soon as it has
 * read the whole file, even while entries it already pushed wait in its buffer — as they do when
 * exceljs is busy spooling a worksheet and the remaining entries are small (stored zips, small
 * files). exceljs then stops early and misses, e.g., the shared strings. The zip parser is what
 * exceljs pipes `input` into; an early 'end' is hidden, the real one follows when it drains.
 */
function guardEarlyEnd(input: PassThrough): void {
  const pipe = input.pipe.bind(input);
  input.pipe = ((dest: NodeJS.WritableStream, opts?: { end?: boolean }) => {
    const zip = dest as unknown as Readable;
    const emit = zip.emit;
    zip.emit = function (this: Readable, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'end' && this.readableLength > 0) return false;
      return emit.call(this, event, ...args);
    };
    return pipe(dest, opts);
  }) as typeof input.pipe;
}

/**
 * exceljs spools a worksheet that comes before the shared strings in the zip (as its own writer
 * puts it) to a temp file, and streams it from there. Closes that stream, without an unhandled
 * error if the file is already gone, and deletes the file if `remove`.
 */
function releaseSpool(ws: SheetReader, remove: boolean): void {
  const { iterator } = ws as { iterator?: unknown };
  if (!(iterator instanceof fs.ReadStream)) return;
  iterator.on('error', () => {});
  iterator.destroy();
  if (remove) fs.rm(String(iterator.path), { force: true }, () => {});
}

function sheetNames(state: ReaderState): string[] {
  return (state.model?.sheets ?? []).map((s) => s.name);
}

/** The first visible worksheet in tab order (chart sheets are not worksheets), else the first. */
function defaultSheet(state: ReaderState): string | undefined {
  const rels = state.workbookRels ?? [];
  const worksheets = (state.model?.sheets ?? []).filter((s) => rels.some((r) => r.Id === s.rId && r.Target.includes('worksheets/')));
  return (worksheets.find((s) => s.state !== 'hidden' && s.state !== 'veryHidden') ?? worksheets[0])?.name;
}

async function readSheet(file: string, ws: SheetReader, date1904: boolean, maxRows: number): Promise<TableRow[]> {
  let header: Header | undefined;
  const rows: TableRow[] = [];
  for await (const row of ws) {
    const r = row.number;
    const values: Array<[number, ParamValue]> = [];
    row.eachCell((cell, pos) => {
      const name = header?.peek(pos);
      const fail = (message: string): never => {
        throw new ValidationError(`${file} row ${r}, column ${columnLetters(pos)}${name === undefined ? '' : ` (${name})`}: ${message}`, name);
      };
      // cell.value drops a formula's falsy result (0, "", NaN for an error); cell.result keeps it.
      const raw = cell.type === ExcelJS.ValueType.Formula ? { formula: cell.formula, result: cell.result as unknown } : cell.value;
      const v = cellValue(raw, cell.numFmt, date1904, fail);
      if (v !== undefined && v !== '') values.push([pos, v]);
    });
    if (values.length === 0) continue; // an entirely empty row
    if (!header) {
      header = new Header(file, r, columnLetters, values.map(([pos, v]) => [pos, String(v)] as const));
      continue;
    }
    const params: Params = {};
    const cells: Record<string, string> = {};
    for (const [pos, v] of values) {
      const name = header.nameAt(r, pos);
      if (setParam(params, name, v)) cells[name] = `${columnLetters(pos)}${r}`;
    }
    if (rows.length >= maxRows) throw tooManyRows(file, maxRows);
    rows.push(makeRow(header, r, params, cells));
  }
  if (!header) throw new ValidationError(`${file}: sheet ${JSON.stringify(ws.name)} is empty; its first row must name the parameters`);
  return rows;
}

/** Converts an exceljs cell value; undefined for an empty cell. Calls `fail` for unusable ones. */
function cellValue(value: unknown, numFmt: string | undefined, date1904: boolean, fail: (message: string) => never): ParamValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    // A plain date cell already arrives as a Date; a formula's date result arrives as a number.
    if (isDateFormat(numFmt)) return dateText(excelToDate(value, date1904), fail);
    return value === 0 ? 0 : value; // no -0
  }
  if (value instanceof Date) return dateText(value, fail);
  if (typeof value !== 'object') return fail(`unsupported cell value of type ${typeof value}`);
  const v = value as Record<string, unknown>;
  if ('error' in v) return fail(`the cell holds the error value ${String(v.error)}`);
  if (Array.isArray(v.richText)) {
    return (v.richText as Array<{ text?: unknown }>).map((run) => (typeof run.text === 'string' ? run.text : '')).join('').trim();
  }
  if ('formula' in v || 'sharedFormula' in v) {
    const f = typeof v.formula === 'string' && v.formula !== '' ? `formula =${v.formula}` : 'the formula';
    if (v.result === undefined || v.result === null) {
      return fail(`${f} has no cached result; open and save the file in Excel or LibreOffice so that it is computed`);
    }
    if (typeof v.result === 'number' && !Number.isFinite(v.result)) return fail(`${f} evaluates to an error`);
    if (typeof v.result === 'object' && 'error' in v.result) return fail(`${f} evaluates to the error ${String(v.result.error)}`);
    return cellValue(v.result, numFmt, date1904, fail);
  }
  if ('text' in v) return cellValue(v.text, undefined, date1904, fail); // hyperlink
  return fail('unsupported cell value');
}

/** Same test exceljs applies to plain cells: a format with date/time letters outside quotes. */
function isDateFormat(fmt: string | undefined): boolean {
  if (!fmt) return false;
  return /[ymdhMsb]/.test(fmt.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

function excelToDate(serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000));
}

/**
 * ISO 8601 text of a spreadsheet date, which has no time zone: "2024-03-01" at midnight,
 * "2024-03-01T10:30:00" otherwise, "10:30:00" for a time of day alone (Excel day 0).
 */
function dateText(d: Date, fail: (message: string) => never): string {
  if (Number.isNaN(d.getTime())) return fail('invalid date');
  const iso = d.toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 23);
  if (time === '00:00:00.000') return day;
  const t = time.endsWith('.000') ? time.slice(0, 8) : time;
  return day === '1899-12-30' ? t : `${day}T${t}`;
}
