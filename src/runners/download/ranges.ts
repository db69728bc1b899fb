import { header, parseContentRange, type Response } from './http.js';
import type { PartialMeta, Segment } from './partial.js';

/** The answer's Content-Range, parsed; null when it has none or it is not one. */
export function contentRange(res: Response): ReturnType<typeof parseContentRange> {
  return parseContentRange(header(res.headers, 'content-range'));
}

/**
 * The answer is the range asked for, from `pos`, of the file we started: 206, the same total and
 * the same validators (a server may ignore If-Range). Anything else means the file changed.
 */
export function answersRange(res: Response, pos: number, meta: PartialMeta): boolean {
  const range = contentRange(res);
  return res.status === 206 && range !== null && range.start === pos && range.total === meta.total && sameFile(res, meta);
}

/** The answer carries the validators we started with: catches a server that ignores If-Range. */
function sameFile(res: Response, meta: PartialMeta): boolean {
  const same = (name: 'etag' | 'last-modified', want: string | null) => want === null || header(res.headers, name) === want;
  return same('etag', meta.etag) && same('last-modified', meta.lastModified);
}

/** Segments that cover [0, total) exactly, without gaps or overlaps. */
export function tiles(segs: Segment[], total: number): boolean {
  let at = 0;
  for (const s of [...segs].sort((a, b) => a.start - b.start)) {
    if (s.start !== at || s.end < s.start || s.pos < s.start || s.pos > s.end) return false;
    at = s.end;
  }
  return segs.length > 0 && at === total;
}

/** The headers as they go with every request: the range of one request removed. */
export function withoutRange(h: Record<string, string>): Record<string, string> {
  const { range: _range, 'if-range': _ifRange, ...rest } = h;
  return rest;
}
