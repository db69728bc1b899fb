import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCell, readTable, tableFormatOf, type ReadTableOptions, type TableRow } from '../../src/importers/index.js';
import { tempDir } from '../support/tmp.js';
import { readFailure } from './support.js';

const failure = readFailure;

describe('readTable: formats and files', () => {
  it('picks the format from the extension, in any case', () => {
    expect(tableFormatOf('a/b/Cameras.XLSX')).toBe('xlsx');
    expect(tableFormatOf('t.csv')).toBe('csv');
    expect(tableFormatOf('t.tsv')).toBe('csv');
    expect(tableFormatOf('t.jsonl')).toBe('jsonl');
    expect(tableFormatOf('t.ndjson')).toBe('jsonl');
  });

  it('rejects an unknown extension, naming the file and the supported formats', async () => {
    const file = path.join(tempDir(), 'cameras.ods');
    fs.writeFileSync(file, 'x');
    expect((await failure(file)).message).toBe(
      `${file}: unknown file extension .ods; supported formats: .xlsx, .csv, .tsv, .jsonl, .ndjson (or give the format explicitly)`,
    );
    expect((await failure('cameras.xls')).message).toContain('cameras.xls: unknown file extension .xls (save the old .xls workbook as .xlsx); supported formats: .xlsx');
    expect((await failure('tasks')).message).toContain('tasks: no file extension; supported formats:');
  });

  it('uses an explicit format whatever the extension', async () => {
    const file = path.join(tempDir(), 'tasks.txt');
    fs.writeFileSync(file, 'server,user\na,b\n');
    expect((await readTable(file, { format: 'csv' }))[0]!.params).toEqual({ server: 'a', user: 'b' });
    const err = await failure(file, { format: 'yaml' as ReadTableOptions['format'] });
    expect(err.message).toBe(`${file}: unknown format "yaml"; supported formats: xlsx, csv, jsonl`);
  });

  it('rejects a sheet option for a non-xlsx file', async () => {
    const file = path.join(tempDir(), 'tasks.csv');
    fs.writeFileSync(file, 'server\na\n');
    expect((await failure(file, { sheet: 'Tasks' })).message).toBe(`${file}: a sheet can only be chosen in an .xlsx file`);
  });

  it('rejects a missing file and a directory without a stack trace', async () => {
    const dir = tempDir();
    for (const ext of ['xlsx', 'csv', 'jsonl']) {
      const missing = path.join(dir, `nope.${ext}`);
      expect((await failure(missing)).message).toBe(`${missing}: no such file`);
      const sub = path.join(dir, `dir.${ext}`);
      fs.mkdirSync(sub);
      expect((await failure(sub)).message).toBe(`${sub}: is a directory, not a file`);
    }
  });

  it('describes cells of a copied row without the file name', async () => {
    const dir = tempDir();
    const xlsxLike: TableRow = { row: 14, params: { password: 'x' }, cells: { password: 'C14' } };
    expect(describeCell(xlsxLike, 'password')).toBe('row 14, column C (password)');
    expect(describeCell(xlsxLike, 'user')).toBe('row 14');
    const file = path.join(dir, 'tasks.csv');
    fs.writeFileSync(file, 'server,user\na,b\n');
    const [row] = await readTable(file);
    expect(describeCell({ ...row! }, 'user')).toBe('row 2, column 2 (user)');
    expect(describeCell(row!, 'user')).toBe(`${file} row 2, column 2 (user)`);
  });
});
