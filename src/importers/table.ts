/**
 * Shared types and helpers of the table importers: a table is a file of prepared tasks, one per
 * row (an Excel sheet, a CSV/TSV file with a header row, or JSON Lines), each row holding the
 * parameters of one job. Every error names the file, the row and, where there is one, the column.
 */
import { ValidationError } from '../core/errors.js';
import type { ParamValue, Params } from '../core/job.js';

export type TableFormat = 'xlsx' | 'csv' | 'jsonl';
export const TABLE_FORMATS: readonly TableFormat[] = ['xlsx', 'csv', 'jsonl'];

export interface ReadTableOptions {
  /** Default: from the file extension (.xlsx, .csv, .tsv, .jsonl, .ndjson). */
  format?: TableFormat;
  /** xlsx only. Default: the first visible worksheet in tab order. */
  sheet?: string;
  /** Stop with an error past this many data rows (read no further). Default: no limit. */
  maxRows?: number;
}

/** The error of a table with more rows than `maxRows`. */
export function tooManyRows(file: string, max: number): ValidationError {
  return new ValidationError(`${file}: more than ${max} data rows; split the file`);
}

/** One data row of a table. */
export interface TableRow {
  /** 1-based row (xlsx, csv: the header is row 1) or line (jsonl) number, as a person sees it. */
  row: number;
  /** Non-empty cells only: a param the row leaves empty is absent. */
  params: Params;
  /**
   * Param name → where its value came from: "C14" (xlsx), "row 14, column 3 (password)" (csv),
   * "line 7, field password" (jsonl).
   */
  cells: Record<string, string>;
}

/** Parameter (header) names: a letter or `_`, then letters, digits, `_` or `-`. */
export const PARAM_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** What a row knows about its table; kept aside so that rows stay plain `TableRow` objects. */
export interface TableSource {
  /** The file as the caller named it. */
  file: string;
  /** "row 14, column C (password)" — where `param` is, or would be, in row `row`. */
  place(row: number, param: string): string;
  /** The column (or field) names the table has, in order; undefined where only the rows tell (JSON Lines). */
  columns?(): string[];
}

const sources = new WeakMap<TableRow, TableSource>();

/** Creates a row and remembers its table for {@link describeCell}. */
export function makeRow(source: TableSource, row: number, params: Params, cells: Record<string, string>): TableRow {
  const r: TableRow = { row, params, cells };
  sources.set(r, source);
  return r;
}

/**
 * Names a row's param for an error message, e.g. "cameras.xlsx row 14, column C (password)".
 * A param the row leaves empty is named by its header column; one with no column at all by the
 * row alone ("cameras.xlsx row 14"). A row not made by this module (e.g. a copy) is described
 * without the file name.
 */
export function describeCell(row: TableRow, param: string): string {
  const source = sources.get(row);
  if (source) return `${source.file} ${source.place(row.row, param)}`;
  const cell = row.cells[param];
  if (cell === undefined) return `row ${row.row}`;
  const m = /^([A-Z]+)(\d+)$/.exec(cell);
  return m ? `row ${m[2]}, column ${m[1]} (${param})` : cell;
}

/** The names of a table's columns, in order: its header's, or (JSON Lines) every field some row has. */
export function tableColumns(rows: readonly TableRow[]): string[] {
  const first = rows[0];
  const fromHeader = first ? sources.get(first)?.columns?.() : undefined;
  if (fromHeader) return fromHeader;
  return [...new Set(rows.flatMap((r) => Object.keys(r.params)))];
}

/** 1 → A, 27 → AA. */
export function columnLetters(n: number): string {
  let s = '';
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) s = String.fromCharCode(65 + ((k - 1) % 26)) + s;
  return s;
}

/** Why `name` cannot be a param name, or undefined if it can. */
export function badParamName(name: string): string | undefined {
  if (name === '__proto__') return 'is reserved';
  if (!PARAM_NAME_RE.test(name)) {
    return 'is not a valid name (use a letter or _ first, then letters, digits, _ or -)';
  }
  return undefined;
}

/**
 * The header row of an xlsx or csv table: column position (1-based) → param name.
 * Names are trimmed; an empty header cell is allowed only if no row has data below it.
 */
export class Header implements TableSource {
  private readonly names = new Map<number, string>();
  private readonly positions = new Map<string, number>();

  constructor(
    readonly file: string,
    /** Row number of the header itself. */
    readonly row: number,
    /** Column position → how a person names it ("C" in xlsx, "3" in csv). */
    private readonly label: (pos: number) => string,
    cells: Iterable<readonly [number, string]>,
  ) {
    for (const [pos, raw] of cells) {
      const name = raw.trim();
      if (name === '') continue;
      const why = badParamName(name);
      if (why) throw this.error(row, pos, `header name ${JSON.stringify(name)} ${why}`);
      const first = this.positions.get(name);
      if (first !== undefined) {
        throw this.error(row, pos, `duplicate header name ${JSON.stringify(name)} (also in column ${label(first)})`);
      }
      this.names.set(pos, name);
      this.positions.set(name, pos);
    }
    if (this.names.size === 0) throw new ValidationError(`${file} row ${row}: the header row names no parameters`);
  }

  /** Number of the last named column. */
  get width(): number {
    return Math.max(...this.names.keys());
  }

  /** The param name of column `pos`, if it has one. */
  peek(pos: number): string | undefined {
    return this.names.get(pos);
  }

  /** The param name of column `pos`; an error if it has no name (there is data below it). */
  nameAt(row: number, pos: number): string {
    const name = this.names.get(pos);
    if (name !== undefined) return name;
    const col = this.label(pos);
    throw this.error(row, pos, `a value in a column with no header name (row ${this.row}, column ${col} is empty)`);
  }

  /** "row 14, column C (password)", or "row 14, column C" without a name. */
  at(row: number, pos: number, name?: string): string {
    return `row ${row}, column ${this.label(pos)}${name === undefined ? '' : ` (${name})`}`;
  }

  place(row: number, param: string): string {
    const pos = this.positions.get(param);
    return pos === undefined ? `row ${row}` : this.at(row, pos, param);
  }

  columns(): string[] {
    return [...this.names.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
  }

  /** A ValidationError at a cell: "cameras.xlsx row 14, column C (password): <message>". */
  error(row: number, pos: number, message: string, name?: string): ValidationError {
    return new ValidationError(`${this.file} ${this.at(row, pos, name)}: ${message}`, name);
  }
}

/** Adds a cell to a row under construction; empty values are left out. */
export function setParam(params: Params, name: string, value: ParamValue | undefined): boolean {
  if (value === undefined || value === '') return false;
  params[name] = value;
  return true;
}
