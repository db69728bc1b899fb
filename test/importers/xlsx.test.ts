import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { describeCell, readTable } from '../../src/importers/index.js';
import { tempDir } from '../support/tmp.js';

type Cell = ExcelJS.CellValue;

/** Writes a workbook with one sheet per entry, rows as given (undefined = an empty row). */
async function writeXlsx(sheets: Record<string, Array<Cell[] | undefined>>, name = 'cameras.xlsx', edit?: (wb: ExcelJS.Workbook) => void): Promise<string> {
  const wb = new ExcelJS.Workbook();
  for (const [sheetName, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(sheetName);
    rows.forEach((cells, i) => {
      if (cells) ws.getRow(i + 1).values = cells;
    });
  }
  edit?.(wb);
  const file = path.join(tempDir(), name);
  await wb.xlsx.writeFile(file);
  return file;
}

async function readError(file: string, opts?: Parameters<typeof readTable>[1]): Promise<ValidationError> {
  const err: unknown = await readTable(file, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('readTable (xlsx)', () => {
  it('reads typed cell values, skipping empty rows and empty cells', async () => {
    const file = await writeXlsx(
      {
        Tasks: [
          [' server ', 'user', 'password', 'cameras', 'start', 'label', 'link', 'enabled', 'ratio', 'calc', 'day'],
          ['  10.0.0.1 ', 'admin', 'pa ss', 101.0, new Date(Date.UTC(2024, 2, 1)), { richText: [{ text: 'Hall ' }, { font: { bold: true }, text: 'A' }] },
            { text: 'docs', hyperlink: 'http://example.com' }, true, 1.5, { formula: 'A2&"x"', result: '10.0.0.1x' }, { formula: 'DATE(2024,1,2)', result: new Date(Date.UTC(2024, 0, 2)) }],
          undefined,
          ['', '   ', null],
          ['10.0.0.2', null, 'secret', 7, new Date(Date.UTC(2024, 2, 1, 10, 30)), null, null, false, 0, { formula: '2*3', result: 6 }],
        ],
      },
      'cameras.xlsx',
      (wb) => {
        const ws = wb.getWorksheet('Tasks')!;
        ws.getCell('E2').numFmt = 'yyyy-mm-dd';
        ws.getCell('E5').numFmt = 'yyyy-mm-dd hh:mm';
        ws.getCell('K2').numFmt = 'yyyy-mm-dd';
        ws.getCell('C4').numFmt = '0.00'; // a styled empty cell
      },
    );
    const rows = await readTable(file);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      row: 2,
      params: {
        server: '10.0.0.1', user: 'admin', password: 'pa ss', cameras: 101, start: '2024-03-01', label: 'Hall A',
        link: 'docs', enabled: true, ratio: 1.5, calc: '10.0.0.1x', day: '2024-01-02',
      },
      cells: {
        server: 'A2', user: 'B2', password: 'C2', cameras: 'D2', start: 'E2', label: 'F2', link: 'G2', enabled: 'H2', ratio: 'I2', calc: 'J2', day: 'K2',
      },
    });
    expect(String(rows[0]!.params.cameras)).toBe('101');
    expect(rows[1]!.row).toBe(5);
    expect(rows[1]!.params).toEqual({ server: '10.0.0.2', password: 'secret', cameras: 7, start: '2024-03-01T10:30:00', enabled: false, ratio: 0, calc: 6 });
    expect(rows[1]!.params).not.toHaveProperty('user');
    expect(describeCell(rows[1]!, 'password')).toBe(`${file} row 5, column C (password)`);
    expect(describeCell(rows[1]!, 'user')).toBe(`${file} row 5, column B (user)`);
    expect(describeCell(rows[1]!, 'nope')).toBe(`${file} row 5`);
  });

  it('takes the first non-empty row as the header and keeps sheet row numbers', async () => {
    const file = await writeXlsx({ S: [undefined, undefined, ['server', 'user'], ['a', 'b'], undefined, ['c', 'd']] });
    const rows = await readTable(file);
    expect(rows.map((r) => [r.row, r.params.server, r.cells.user])).toEqual([
      [4, 'a', 'B4'],
      [6, 'c', 'B6'],
    ]);
  });

  it('returns no rows for a header-only sheet, and allows an empty header cell with nothing below', async () => {
    expect(await readTable(await writeXlsx({ S: [['server', 'user']] }))).toEqual([]);
    const rows = await readTable(await writeXlsx({ S: [['server', null, 'user'], ['a', null, 'b']] }));
    expect(rows[0]!.params).toEqual({ server: 'a', user: 'b' });
    expect(rows[0]!.cells.user).toBe('C2');
  });

  it('reads a 20,000-row sheet', async () => {
    const rows: Cell[][] = [['server', 'user', 'password', 'cameras']];
    for (let i = 0; i < 20_000; i++) rows.push([`10.0.${Math.floor(i / 256)}.${i % 256}`, `user${i}`, `pw${i}`, i]);
    const file = await writeXlsx({ Big: rows });
    const got = await readTable(file);
    expect(got).toHaveLength(20_000);
    expect(got[0]).toEqual({ row: 2, params: { server: '10.0.0.0', user: 'user0', password: 'pw0', cameras: 0 }, cells: { server: 'A2', user: 'B2', password: 'C2', cameras: 'D2' } });
    expect(got[19_999]!.row).toBe(20_001);
    expect(got[19_999]!.params).toEqual({ server: '10.0.78.31', user: 'user19999', password: 'pw19999', cameras: 19_999 });
    expect(got.every((r, i) => r.params.cameras === i)).toBe(true);
  });

  it('reads the first visible sheet by default, or the named one', async () => {
    const file = await writeXlsx({ Hidden: [['x'], ['h']], Tasks: [['server'], ['t']], Other: [['server'], ['o']] }, 'book.xlsx', (wb) => {
      wb.getWorksheet('Hidden')!.state = 'hidden';
    });
    expect((await readTable(file))[0]!.params).toEqual({ server: 't' });
    expect((await readTable(file, { sheet: 'Other' }))[0]!.params).toEqual({ server: 'o' });
    expect((await readTable(file, { sheet: 'Hidden' }))[0]!.params).toEqual({ x: 'h' });
    const err = await readError(file, { sheet: 'Nope' });
    expect(err.message).toBe(`${file}: no sheet named "Nope"; the sheets are "Hidden", "Tasks", "Other"`);
  });

  describe('header errors name the column', () => {
    it('an empty header cell with data below it', async () => {
      const file = await writeXlsx({ S: [['server', null, 'user'], ['a', 'stray', 'b']] });
      expect((await readError(file)).message).toBe(`${file} row 2, column B: a value in a column with no header name (row 1, column B is empty)`);
    });
    it('data right of the last header cell', async () => {
      const file = await writeXlsx({ S: [['server'], ['a'], ['b', null, null, 'x']] });
      expect((await readError(file)).message).toContain(`${file} row 3, column D: a value in a column with no header name`);
    });
    it('a duplicate name', async () => {
      const file = await writeXlsx({ S: [['server', 'user', ' server'], ['a', 'b', 'c']] });
      expect((await readError(file)).message).toBe(`${file} row 1, column C: duplicate header name "server" (also in column A)`);
    });
    it('an invalid name', async () => {
      const file = await writeXlsx({ S: [['server', 'user name'], ['a', 'b']] });
      expect((await readError(file)).message).toMatch(new RegExp(`^${escape(file)} row 1, column B: header name "user name" is not a valid name`));
      const num = await writeXlsx({ S: [['server', 2024], ['a', 'b']] });
      expect((await readError(num)).message).toContain(`${num} row 1, column B: header name "2024" is not a valid name`);
    });
    it('an empty sheet', async () => {
      const file = await writeXlsx({ Tasks: [] });
      expect((await readError(file)).message).toBe(`${file}: sheet "Tasks" is empty; its first row must name the parameters`);
    });
  });

  describe('cell errors name the row, column and param', () => {
    it('a formula without a cached result', async () => {
      const file = await writeXlsx({ S: [['server', 'user', 'password'], ['a', 'b', 'c'], ['a', 'b', { formula: 'A1&B1' } as Cell]] });
      const err = await readError(file);
      expect(err.message).toBe(`${file} row 3, column C (password): formula =A1&B1 has no cached result; open and save the file in Excel or LibreOffice so that it is computed`);
      expect(err.field).toBe('password');
    });
    it('an error value', async () => {
      const file = await writeXlsx({ S: [['server', 'cameras'], ['a', { error: '#N/A' } as Cell]] });
      expect((await readError(file)).message).toBe(`${file} row 2, column B (cameras): the cell holds the error value #N/A`);
    });
  });

  describe('files that are not xlsx', () => {
    const cases: Array<[string, (file: string, good: Buffer) => void]> = [
      ['a text file', (f) => fs.writeFileSync(f, 'server,user\n10.0.0.1,admin\n')],
      ['an empty file', (f) => fs.writeFileSync(f, '')],
      ['a zip truncated in half', (f, good) => fs.writeFileSync(f, good.subarray(0, good.length >> 1))],
      ['a zip missing its end', (f, good) => fs.writeFileSync(f, good.subarray(0, good.length - 30))],
      ['a zip cut after 100 bytes', (f, good) => fs.writeFileSync(f, good.subarray(0, 100))],
    ];
    for (const [what, make] of cases) {
      it(`rejects ${what} with a ValidationError`, async () => {
        const good = fs.readFileSync(await writeXlsx({ S: [['server'], ['a']] }));
        const file = path.join(tempDir(), 'cameras.xlsx');
        make(file, good);
        const err = await readError(file);
        expect(err.message).toMatch(new RegExp(`^${escape(file)}: not a readable \\.xlsx file \\(.+\\)$`));
      });
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
