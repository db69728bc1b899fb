import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFailure } from './support.js';
import { readTable } from '../../src/importers/index.js';
import { tempDir } from '../support/tmp.js';
import { str, writeHandmadeXlsx, zip } from './handmade-xlsx.js';

const HEADER = `<row r="1">${str('A1', 'server')}${str('B1', 'cameras')}${str('C1', 'day')}${str('D1', 'calc')}${str('E1', 'shared')}${str('F1', 'label')}${str('G1', 'when')}</row>`;
const ROW2 =
  `<row r="2">${str('A2', ' 10.0.0.9 ')}<c r="B2"><v>101.0</v></c><c r="C2" s="1"><v>45352</v></c>` +
  `<c r="D2" s="2"><f>C2+1</f><v>45353</v></c><c r="E2"><f t="shared" si="0"/><v>5</v></c>` +
  `<c r="F2" t="s"><v>0</v></c><c r="G2" s="1"><v>45352.4375</v></c></row>`;
const RICH = '<si><r><t xml:space="preserve">Hall </t></r><r><rPr><b/></rPr><t>B</t></r></si>';

async function failure(file: string): Promise<string> {
  return (await readFailure(file)).message;
}

describe('readTable (hand-written xlsx)', () => {
  for (const sheetsFirst of [false, true]) {
    it(`reads inline strings, "101.0", dates, formulas and shared rich text${sheetsFirst ? ' (worksheets before workbook.xml)' : ''}`, async () => {
      const file = path.join(tempDir(), 'cameras.xlsx');
      writeHandmadeXlsx(file, [{ name: 'Tasks', rows: HEADER + ROW2 }], { sharedStrings: RICH, sheetsFirst });
      const rows = await readTable(file);
      expect(rows).toEqual([
        {
          row: 2,
          params: { server: '10.0.0.9', cameras: 101, day: '2024-03-01', calc: '2024-03-02', shared: 5, label: 'Hall B', when: '2024-03-01T10:30:00' },
          cells: { server: 'A2', cameras: 'B2', day: 'C2', calc: 'D2', shared: 'E2', label: 'F2', when: 'G2' },
        },
      ]);
      expect(Number.isInteger(rows[0]!.params.cameras)).toBe(true);
      expect(String(rows[0]!.params.cameras)).toBe('101');
    });
  }

  it('reads a stored zip whose worksheet precedes the shared strings, every time', async () => {
    // exceljs's zip reader used to end early here about one time in five, losing the shared strings.
    const file = path.join(tempDir(), 'stored.xlsx');
    writeHandmadeXlsx(file, [{ name: 'Tasks', rows: HEADER + ROW2 }, { name: 'Second', rows: `<row r="1">${str('A1', 'x')}</row><row r="2"><c r="A2" t="s"><v>0</v></c></row>` }], {
      sharedStrings: RICH,
      sheetsFirst: true,
    });
    for (let i = 0; i < 40; i++) {
      expect((await readTable(file))[0]!.params.label).toBe('Hall B');
      expect((await readTable(file, { sheet: 'Second' }))[0]!.params).toEqual({ x: 'Hall B' });
    }
  });

  it('reads a workbook with no shared strings at all', async () => {
    const file = path.join(tempDir(), 'nums.xlsx');
    writeHandmadeXlsx(file, [{ name: 'N', rows: `<row r="1">${str('A1', 'cameras')}</row><row r="2"><c r="A2"><v>3</v></c></row>` }]);
    expect(await readTable(file)).toEqual([{ row: 2, params: { cameras: 3 }, cells: { cameras: 'A2' } }]);
  });

  it('keeps a formula result of 0 and leaves out an empty-text result', async () => {
    const file = path.join(tempDir(), 'zero.xlsx');
    const rows = `<row r="1">${str('A1', 'server')}${str('B1', 'offset')}${str('C1', 'note')}</row>` +
      `<row r="2">${str('A2', 'a')}<c r="B2"><f>A1*0</f><v>0</v></c><c r="C2" t="str"><f>""</f><v></v></c></row>`;
    writeHandmadeXlsx(file, [{ name: 'S', rows }]);
    expect(await readTable(file)).toEqual([{ row: 2, params: { server: 'a', offset: 0 }, cells: { server: 'A2', offset: 'B2' } }]);
  });

  it('rejects a formula whose cached result is an error value', async () => {
    const file = path.join(tempDir(), 'cameras.xlsx');
    const rows = `<row r="1">${str('A1', 'server')}${str('B1', 'cameras')}</row><row r="2">${str('A2', 'a')}<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>`;
    writeHandmadeXlsx(file, [{ name: 'S', rows }]);
    expect(await failure(file)).toBe(`${file} row 2, column B (cameras): formula =1/0 evaluates to an error`);
  });

  it('rejects a plain error cell', async () => {
    const file = path.join(tempDir(), 'cameras.xlsx');
    const rows = `<row r="1">${str('A1', 'server')}${str('B1', 'cameras')}</row><row r="7">${str('A7', 'a')}<c r="B7" t="e"><v>#REF!</v></c></row>`;
    writeHandmadeXlsx(file, [{ name: 'S', rows }]);
    expect(await failure(file)).toBe(`${file} row 7, column B (cameras): the cell holds the error value #REF!`);
  });

  it('rejects a zip that holds no workbook', async () => {
    const file = path.join(tempDir(), 'cameras.xlsx');
    fs.writeFileSync(file, zip([['readme.txt', 'hello']]));
    expect(await failure(file)).toBe(`${file}: not a readable .xlsx file (no worksheets found)`);
  });

  it('rejects malformed sheet XML', async () => {
    const file = path.join(tempDir(), 'cameras.xlsx');
    writeHandmadeXlsx(file, [{ name: 'S', rows: `<row r="1">${str('A1', 'server')}</row><row r="2"><c r="A2"><v>1</c></row>` }]);
    expect(await failure(file)).toMatch(/cameras\.xlsx: not a readable \.xlsx file \(.+\)$/);
  });
});
