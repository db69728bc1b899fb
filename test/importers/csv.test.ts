import { describe, expect, it } from 'vitest';
import { describeCell, readTable } from '../../src/importers/index.js';
import { readFailure, writeFile } from './support.js';

const write = writeFile;
const failure = (file: string) => readFailure(file);

describe('readTable (csv)', () => {
  it('reads quoted fields with commas, quotes and newlines, keeping values as strings', async () => {
    const file = write(
      'cameras.csv',
      '\uFEFFserver, user ,password,cameras\r\n' +
        '10.0.0.1, admin ,"p,w ""x""",101\r\n' +
        '\r\n' +
        '"10.0.0.2",bob,"two\r\nlines",007\r\n' +
        ',,,\r\n' +
        '10.0.0.3,,"  spaced  ",1.50\r\n',
    );
    const rows = await readTable(file);
    expect(rows).toEqual([
      {
        row: 2,
        params: { server: '10.0.0.1', user: 'admin', password: 'p,w "x"', cameras: '101' },
        cells: {
          server: 'row 2, column 1 (server)',
          user: 'row 2, column 2 (user)',
          password: 'row 2, column 3 (password)',
          cameras: 'row 2, column 4 (cameras)',
        },
      },
      {
        row: 4,
        params: { server: '10.0.0.2', user: 'bob', password: 'two\r\nlines', cameras: '007' },
        cells: {
          server: 'row 4, column 1 (server)',
          user: 'row 4, column 2 (user)',
          password: 'row 4, column 3 (password)',
          cameras: 'row 4, column 4 (cameras)',
        },
      },
      {
        row: 7, // the row after a two-line field starts on line 7
        params: { server: '10.0.0.3', password: '  spaced  ', cameras: '1.50' },
        cells: { server: 'row 7, column 1 (server)', password: 'row 7, column 3 (password)', cameras: 'row 7, column 4 (cameras)' },
      },
    ]);
    expect(describeCell(rows[2]!, 'password')).toBe(`${file} row 7, column 3 (password)`);
    expect(describeCell(rows[2]!, 'user')).toBe(`${file} row 7, column 2 (user)`);
    expect(describeCell(rows[2]!, 'other')).toBe(`${file} row 7`);
  });

  it('numbers rows by the line they start on, with LF endings too', async () => {
    const rows = await readTable(write('lf.csv', 'server,note\na,"x\n\ny"\n\nb,c\n'));
    expect(rows.map((r) => [r.row, r.params.note])).toEqual([
      [2, 'x\n\ny'],
      [6, 'c'],
    ]);
  });

  it('allows short rows and trailing empty fields', async () => {
    const rows = await readTable(write('t.csv', 'server,user,password\na\nb,c,d,,\n'));
    expect(rows.map((r) => r.params)).toEqual([{ server: 'a' }, { server: 'b', user: 'c', password: 'd' }]);
  });

  it('reads a header-only file as no rows, and a file without a final newline', async () => {
    expect(await readTable(write('h.csv', 'server,user\n'))).toEqual([]);
    expect((await readTable(write('n.csv', 'server\nx')))[0]!.params).toEqual({ server: 'x' });
  });

  it('reads .tsv as tab-delimited', async () => {
    const rows = await readTable(write('cameras.tsv', 'server\tuser\tnote\n10.0.0.1\tadmin\ta, b\n10.0.0.2\t\t"tab\there"\n'));
    expect(rows.map((r) => r.params)).toEqual([
      { server: '10.0.0.1', user: 'admin', note: 'a, b' },
      { server: '10.0.0.2', note: 'tab\there' },
    ]);
    expect(rows[1]!.cells.note).toBe('row 3, column 3 (note)');
  });

  it('rejects a row with more fields than the header, naming the row', async () => {
    const file = write('cameras.csv', 'server,user\na,b\nc,d,e\n');
    expect((await failure(file)).message).toBe(`${file} row 3: the row has 3 fields but the header has 2 (a value in column 3)`);
  });

  it('rejects a value under an empty header cell, naming the column', async () => {
    const file = write('cameras.csv', 'server,,user\na,,b\nc,x,d\n');
    expect((await failure(file)).message).toBe(`${file} row 3, column 2: a value in a column with no header name (row 1, column 2 is empty)`);
  });

  it('rejects duplicate and invalid header names, naming the column', async () => {
    const dup = write('cameras.csv', 'server,user,server\na,b,c\n');
    expect((await failure(dup)).message).toBe(`${dup} row 1, column 3: duplicate header name "server" (also in column 1)`);
    const bad = write('bad.csv', 'server,2nd camera\na,b\n');
    expect((await failure(bad)).message).toMatch(/bad\.csv row 1, column 2: header name "2nd camera" is not a valid name/);
    const proto = write('proto.csv', '__proto__\na\n');
    expect((await failure(proto)).message).toContain('proto.csv row 1, column 1: header name "__proto__" is reserved');
  });

  it('rejects an empty file and a file with a blank header row', async () => {
    const empty = write('empty.csv', '');
    expect((await failure(empty)).message).toBe(`${empty}: the file is empty; its first row must name the parameters`);
    const blank = write('blank.csv', '\n\n');
    expect((await failure(blank)).message).toBe(`${blank}: the file is empty; its first row must name the parameters`);
  });

  it('rejects an unclosed quote, naming the line', async () => {
    const file = write('cameras.csv', 'server,user\na,"b\nc,d\n');
    expect((await failure(file)).message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')} near line \\d+: not valid CSV \\(Quote Not Closed`));
  });
});
