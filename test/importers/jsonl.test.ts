import { describe, expect, it } from 'vitest';
import { describeCell, readTable } from '../../src/importers/index.js';
import { readFailure, writeFile } from './support.js';

const write = writeFile;
const failure = (file: string) => readFailure(file);

describe('readTable (jsonl)', () => {
  it('reads one object per line, keeping JSON types, skipping blank lines', async () => {
    const file = write(
      'cameras.jsonl',
      '\uFEFF{"server":"10.0.0.1","user":"admin","password":"p w","cameras":101,"hd":true}\r\n' +
        '\r\n' +
        '   \n' +
        '{"server":"10.0.0.2","user":null,"password":"","cameras":2.5,"hd":false,"note":" x "}\n',
    );
    const rows = await readTable(file);
    expect(rows).toEqual([
      {
        row: 1,
        params: { server: '10.0.0.1', user: 'admin', password: 'p w', cameras: 101, hd: true },
        cells: {
          server: 'line 1, field server',
          user: 'line 1, field user',
          password: 'line 1, field password',
          cameras: 'line 1, field cameras',
          hd: 'line 1, field hd',
        },
      },
      {
        row: 4,
        params: { server: '10.0.0.2', cameras: 2.5, hd: false, note: ' x ' },
        cells: { server: 'line 4, field server', cameras: 'line 4, field cameras', hd: 'line 4, field hd', note: 'line 4, field note' },
      },
    ]);
    expect(describeCell(rows[1]!, 'cameras')).toBe(`${file} line 4, field cameras`);
    expect(describeCell(rows[1]!, 'user')).toBe(`${file} line 4, field user`);
  });

  it('reads .ndjson, and an empty file as no rows', async () => {
    expect((await readTable(write('t.ndjson', '{"a":1}')))[0]!.params).toEqual({ a: 1 });
    expect(await readTable(write('e.jsonl', ''))).toEqual([]);
  });

  it('rejects invalid JSON, naming the line', async () => {
    const file = write('cameras.jsonl', '{"server":"a"}\n{"server": "b",}\n');
    expect((await failure(file)).message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')} line 2: invalid JSON \\(.+\\)$`));
  });

  it('rejects a line that is not an object', async () => {
    const arr = write('a.jsonl', '{"server":"a"}\n\n["b"]\n');
    expect((await failure(arr)).message).toBe(`${arr} line 3: expected a JSON object of params, got an array`);
    const num = write('n.jsonl', '42\n');
    expect((await failure(num)).message).toBe(`${num} line 1: expected a JSON object of params, got a number`);
    const nul = write('z.jsonl', 'null\n');
    expect((await failure(nul)).message).toBe(`${nul} line 1: expected a JSON object of params, got null`);
  });

  it('rejects nested values, naming the line and field', async () => {
    const obj = write('cameras.jsonl', '{"server":"a"}\n{"server":"b","auth":{"user":"x"}}\n');
    const err = await failure(obj);
    expect(err.message).toBe(`${obj} line 2, field auth: the value is an object; only strings, numbers and booleans are allowed`);
    expect(err.field).toBe('auth');
    const arr = write('arr.jsonl', '{"cameras":[1,2]}\n');
    expect((await failure(arr)).message).toBe(`${arr} line 1, field cameras: the value is an array; only strings, numbers and booleans are allowed`);
  });

  it('rejects invalid field names, naming the line and field', async () => {
    const file = write('cameras.jsonl', '{"server":"a","camera list":"1"}\n');
    expect((await failure(file)).message).toMatch(/cameras\.jsonl line 1: field name "camera list" is not a valid name/);
  });
});
