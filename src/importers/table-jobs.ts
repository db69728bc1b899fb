/**
 * From a table's rows to jobs, as `drover import` and the dashboard's import both do it: columns
 * matched to the params a template or kind knows, and the checks that name a row and a column.
 */
import { closest } from '../core/suggest.js';
import { describeCell, type TableRow } from './table.js';

export interface TableInfo {
  /** The file's name as shown in errors. */
  name: string;
  /** The file's column names, as written. */
  columns: string[];
}

/** One problem of a table, by row and column (as the file names it). */
export interface TableProblem {
  row: number | null;
  column: string | null;
  message: string;
}

/**
 * Renames the rows' params whose column matches a known param but for case ("Password" →
 * `password`); returns param → the column it came from, for naming cells in errors.
 */
export function matchColumns(rows: TableRow[], columns: string[], known: string[]): Map<string, string> {
  const columnOf = new Map(columns.map((c) => [c, c]));
  for (const column of columns) {
    if (known.includes(column)) continue;
    const name = known.find((k) => k.toLowerCase() === column.toLowerCase());
    if (name === undefined || columns.includes(name)) continue;
    columnOf.delete(column);
    columnOf.set(name, column);
    for (const r of rows) {
      if (r.params[column] === undefined) continue;
      r.params[name] = r.params[column] as string;
      delete r.params[column];
    }
  }
  return columnOf;
}

/** `cameras.xlsx: column "password" missing, required by … (the file has user, pasword, server — did you mean "pasword"?)`. */
export function missingColumnMessage(table: TableInfo, name: string, why: string): string {
  const like = closest(name, table.columns);
  return `${table.name}: column "${name}" missing, ${why} (the file has ${table.columns.join(', ')}${like ? ` — did you mean "${like}"?` : ''})`;
}

/**
 * The template's required params that neither `given` nor the table supplies: a missing column
 * once, else each row that leaves the cell empty (at most `limit` problems).
 */
export function requiredProblems(table: TableInfo, template: string, required: string[], rows: TableRow[], columnOf: Map<string, string>, given: Record<string, string>, limit = Infinity): TableProblem[] {
  const out: TableProblem[] = [];
  for (const name of required) {
    if (given[name] !== undefined) continue;
    if (!columnOf.has(name)) {
      out.push({ row: null, column: name, message: missingColumnMessage(table, name, `required by template ${template}`) });
      continue;
    }
    const column = columnOf.get(name) ?? name;
    for (const row of rows) {
      if (out.length >= limit) return out;
      if (row.params[name] === undefined) out.push({ row: row.row, column, message: `${describeCell(row, column)}: missing, required by template ${template}` });
    }
  }
  return out;
}

/** `import:NAME`, or `import:NAME#2`, `#3`... when an earlier import of a file of that name has it (`counts` says how many jobs have a tag). */
export async function freshImportTag(name: string, counts: (tag: string) => Promise<Record<string, number>>): Promise<string> {
  for (let n = 1; ; n++) {
    const tag = n === 1 ? `import:${name}` : `import:${name}#${n}`;
    if (Object.values(await counts(tag)).every((c) => c === 0)) return tag;
  }
}
