import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeHandmadeXlsx, str } from '../importers/handmade-xlsx.js';
import { sandbox, show, traversalCorpus } from '../support/traversal-corpus.js';
import { tempDir, waitFor } from '../support/tmp.js';
import { coordinator, shownPart } from './traversal-kit.js';

// Imports: the upload's name, the entries of an .xlsx (a zip), and the cells that become path
// params, each from the traversal corpus. The upload goes to a private temporary directory
// (TMPDIR here points into the sandbox's root) and nothing is ever extracted from a zip: after
// each import that directory is empty again and nothing appeared anywhere else.

const yaml = `
templates:
  touch:
    argv: [touch, "{outdir}/{name}"]
`;
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

const savedTmp = process.env.TMPDIR;
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

/** A sandbox whose root is the temporary directory (os.tmpdir()) of the imports. */
function tmpSandbox(prefix: string) {
  const box = sandbox(tempDir(prefix));
  process.env.TMPDIR = box.root;
  /** After an import: its temporary files are gone (exceljs removes a spooled sheet a moment later), nothing outside changed. */
  const clean = async (what: string) => {
    box.unchanged(what);
    await waitFor(() => fs.readdirSync(box.root).length === 0, 5_000, `${what}: ${box.root} empty again (has ${fs.readdirSync(box.root).join(', ')})`);
  };
  return { box, clean };
}

describe('imports from outside, against the traversal corpus', () => {
  it("the upload's name: a plain name in a private temporary directory, never a 500", async () => {
    const c = await coordinator(yaml);
    const { box, clean } = tmpSandbox('drover-trav-upname-');
    for (const { label, value } of traversalCorpus(box.outside)) {
      const what = `name=${show(value)} (${label})`;
      for (const format of ['csv', 'jsonl'] as const) {
        const data = format === 'csv' ? 'name\nclip.txt\n' : '{"name":"clip.txt"}\n';
        const r = await c.post('/api/v1/imports?dryRun=true', { format, name: value, data: b64(data), template: 'touch' });
        if (value === '') {
          // No name at all is a request to fix, not a file.
          expect(r, what).toMatchObject({ status: 400, body: { error: { field: 'name' } } });
          continue;
        }
        expect(r.status, `${what} ${format}: ${JSON.stringify(r.body).slice(0, 200)}`).toBe(200);
        // The tag names the upload by its plain name: no directory, no control character.
        const tag = String(r.body.tag);
        expect(tag, what).toMatch(/^import:[^/\\\u0000-\u001f]+$/);
        expect(Buffer.byteLength(tag), what).toBeLessThan(255);
        await clean(what);
      }
    }
  });

  it("an .xlsx's entries named to climb out: nothing is extracted, the sheet is read or the file refused clearly", async () => {
    const c = await coordinator(yaml);
    const file = path.join(tempDir('drover-trav-xlsx-src-'), 'cams.xlsx');
    const { box, clean } = tmpSandbox('drover-trav-xlsx-');
    const rows = `<row r="1">${str('A1', 'name')}</row><row r="2">${str('A2', 'clip.txt')}</row>`;
    const evil = traversalCorpus(box.outside).flatMap(({ value }) => [[value, 'extra'], [`xl/../../${value}`, 'extra'], [value, 'sheet']] as const);
    let read = 0;
    for (const [name, where] of evil) {
      const what = `entry ${show(name)} as ${where}`;
      // As an entry of its own beside a good sheet, or as the sheet's own entry (`…/xl/worksheets/sheet1.xml`).
      writeHandmadeXlsx(file, [{ name: 'Sheet1', rows }], where === 'extra' ? { extra: [[name, 'EVIL']] } : { sheetPath: (n) => `${name}/xl/worksheets/sheet${n}.xml` });
      const r = await c.post('/api/v1/imports?dryRun=true', { format: 'xlsx', name: 'cams.xlsx', data: b64(fs.readFileSync(file)), template: 'touch' });
      if (r.status === 200) {
        expect(r.body, what).toMatchObject({ rows: 1, errors: [] });
        read++;
      } else {
        expect(r.status, `${what}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(400);
        expect((r.body.error as { message: string }).message, what).toMatch(/^cams\.xlsx: /);
      }
      await clean(what);
    }
    // Every file with an odd entry beside its sheet is read as it is.
    expect(read).toBeGreaterThanOrEqual(evil.filter(([, where]) => where === 'extra').length);
  });

  it('cells used as path params: each bad one named by row and column, exactly those the enqueue refuses', async () => {
    const c = await coordinator(yaml);
    const { box, clean } = tmpSandbox('drover-trav-cells-');
    const corpus = traversalCorpus(box.outside).map((e) => e.value).filter((v) => v.trim() !== '');
    const cases = [
      { spec: { template: 'touch' }, column: 'name', params: (v: string) => ({ name: v }) },
      { spec: { kind: 'download' }, column: 'filename', params: (v: string) => ({ url: 'https://example.com/f', filename: v }) },
      { spec: { kind: 'download' }, column: 'dest', params: (v: string) => ({ url: 'https://example.com/f', dest: `archive:${v}` }) },
    ];
    for (const k of cases) {
      const jsonl = corpus.map((v) => JSON.stringify(k.params(v))).join('\n');
      const r = await c.post('/api/v1/imports?dryRun=true', { format: 'jsonl', name: 'rows.jsonl', data: b64(jsonl), ...k.spec });
      await clean(k.column);
      const errors = (r.body.errors ?? []) as Array<{ row: number; column: string; message: string }>;
      const refused: number[] = [];
      for (const [i, v] of corpus.entries()) {
        const at = await c.enqueue({ ...k.spec, params: k.params(v) });
        if (at.status === 201) continue;
        refused.push(i + 1);
        const e = errors.find((x) => x.row === i + 1);
        expect(e, `${k.column} ${show(v)}`).toMatchObject({ column: k.column });
        expect(e!.message, `${k.column} ${show(v)}`).toMatch(new RegExp(`^rows\\.jsonl line ${i + 1}, (column|field) "?${k.column}"?: `));
        if (k.column !== 'dest') expect(e!.message, `${k.column} ${show(v)}`).toContain(shownPart(v));
      }
      expect(refused.length, k.column).toBeGreaterThan(5);
      expect(errors.map((e) => e.row), k.column).toEqual(refused);
      expect(r.status, k.column).toBe(422);
    }
  });
});
