/**
 * Reads JSON Lines: one JSON object of scalars per line, its keys the param names. Blank lines
 * are skipped and a UTF-8 BOM is dropped. Values keep their JSON type; strings are not trimmed;
 * null and "" count as empty (left out of params). Rows are numbered by line.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { ValidationError, errorMessage } from '../core/errors.js';
import type { Params } from '../core/job.js';
import { badParamName, makeRow, setParam, type TableRow, type TableSource, tooManyRows } from './table.js';

export async function readJsonl(file: string, maxRows = Infinity): Promise<TableRow[]> {
  const source: TableSource = { file, place: (line, param) => `line ${line}, field ${param}` };
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  let readError: Error | undefined;
  input.on('error', (err) => {
    readError = err;
  });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const rows: TableRow[] = [];
  let n = 0;
  try {
    for await (const raw of lines) {
      n++;
      const text = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        throw new ValidationError(`${file} line ${n}: invalid JSON (${errorMessage(err)})`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        const got = obj === null ? 'null' : Array.isArray(obj) ? 'an array' : `a ${typeof obj}`;
        throw new ValidationError(`${file} line ${n}: expected a JSON object of params, got ${got}`);
      }
      const params: Params = {};
      const cells: Record<string, string> = {};
      for (const [key, value] of Object.entries(obj)) {
        const at = `${file} ${source.place(n, key)}`;
        const why = badParamName(key);
        if (why) throw new ValidationError(`${file} line ${n}: field name ${JSON.stringify(key)} ${why}`, key);
        if (value === null) continue;
        if (typeof value === 'object') {
          const what = Array.isArray(value) ? 'an array' : 'an object';
          throw new ValidationError(`${at}: the value is ${what}; only strings, numbers and booleans are allowed`, key);
        }
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
          throw new ValidationError(`${at}: unsupported value of type ${typeof value}`, key);
        }
        if (setParam(params, key, value)) cells[key] = source.place(n, key);
      }
      if (rows.length >= maxRows) throw tooManyRows(file, maxRows);
      rows.push(makeRow(source, n, params, cells));
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (readError) throw new ValidationError(`${file}: cannot read (${errorMessage(readError)})`);
  return rows;
}
