/**
 * Hand-written .xlsx files, for cell encodings exceljs's writer never produces (an error result
 * of a formula, "101.0", inline strings, shared formulas) and odd zip layouts. Stored (no
 * compression) zip, as small as unzipper accepts.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';

export function zip(entries: Array<[name: string, text: string]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of entries) {
    const data = Buffer.from(text, 'utf8');
    const fileName = Buffer.from(name, 'utf8');
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';

/** Style 1 is a custom yyyy-mm-dd date format, style 2 the built-in date format 14. */
const STYLES = `<?xml version="1.0" encoding="UTF-8"?><styleSheet ${NS}>
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
</styleSheet>`;

export interface HandmadeSheet {
  name: string;
  /** The <row> elements of <sheetData>. */
  rows: string;
}

/**
 * Writes an .xlsx with the given sheets and shared strings (`<si>` elements). With
 * `sheetsFirst`, the worksheet parts come before workbook.xml in the zip, as some writers do.
 * `extra` entries go first; `sheetPath` names each worksheet's entry (default `xl/worksheets/sheetN.xml`).
 */
export function writeHandmadeXlsx(file: string, sheets: HandmadeSheet[], opts: { sharedStrings?: string; sheetsFirst?: boolean; extra?: Array<[string, string]>; sheetPath?: (n: number) => string } = {}): void {
  const workbook = `<?xml version="1.0" encoding="UTF-8"?><workbook ${NS} ${RNS}><sheets>${sheets
    .map((s, i) => `<sheet name="${s.name}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
    .join('')}</sheets></workbook>`;
  const rels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
    .map((_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`)
    .join('')}<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`;
  const sheetParts: Array<[string, string]> = sheets.map((s, i) => [
    opts.sheetPath?.(i + 1) ?? `xl/worksheets/sheet${i + 1}.xml`,
    `<?xml version="1.0" encoding="UTF-8"?><worksheet ${NS}><sheetData>${s.rows}</sheetData></worksheet>`,
  ]);
  const head: Array<[string, string]> = [
    ['[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'],
    ['xl/_rels/workbook.xml.rels', rels],
    ['xl/workbook.xml', workbook],
    ['xl/styles.xml', STYLES],
  ];
  if (opts.sharedStrings !== undefined) {
    head.push(['xl/sharedStrings.xml', `<?xml version="1.0" encoding="UTF-8"?><sst ${NS}>${opts.sharedStrings}</sst>`]);
  }
  fs.writeFileSync(file, zip([...(opts.extra ?? []), ...(opts.sheetsFirst ? [...sheetParts, ...head] : [...head, ...sheetParts])]));
}

/** An inline-string cell. */
export const str = (ref: string, text: string): string => `<c r="${ref}" t="inlineStr"><is><t xml:space="preserve">${text}</t></is></c>`;
