import { XMLParser } from 'fast-xml-parser';

/**
 * The XML of Hikvision's ISAPI, both namespaces: `http://www.isapi.org/ver20/XMLSchema` (newer
 * firmware) and `http://www.hikvision.com/ver10/XMLSchema` (older). Parsed without namespace
 * prefixes and with every value a string; lists that may hold one item are always arrays (a
 * one-item page is a list, not a lone element: hikload 1.1.4 crashed on it).
 */
export const NS = { ver20: 'http://www.isapi.org/ver20/XMLSchema', ver10: 'http://www.hikvision.com/ver10/XMLSchema' } as const;
export type IsapiNamespace = keyof typeof NS;

const LISTS = new Set(['searchMatchItem', 'StreamingChannel', 'trackID', 'timeSpan']);
const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (name) => LISTS.has(name) });

/** A device's answer that says it could not do what was asked (`<ResponseStatus>`, `<userCheck>`), or XML that is not an answer. */
export class IsapiError extends Error {
  constructor(
    message: string,
    /** The device's `statusString` ("Invalid Operation", "Device Busy"...), or null. */
    readonly statusString: string | null = null,
    /** The device's `subStatusCode` ("badXmlContent", "notSupport"...), or null. */
    readonly subStatusCode: string | null = null,
  ) {
    super(message);
  }
}

type Node = Record<string, unknown>;

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim();
  if (v && typeof v === 'object' && '#text' in v) return String((v as Node)['#text']).trim();
  return undefined;
}

/** The XML's root element (name and content); an IsapiError for an error answer or what is not XML. */
export function parseIsapi(xml: string): { root: string; body: Node } {
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    throw new IsapiError(`not XML: ${(err as Error).message.split('\n')[0]}`);
  }
  const root = Object.keys(doc).find((k) => k !== '?xml');
  if (root === undefined) throw new IsapiError('not XML: no element');
  const body = (doc[root] ?? {}) as Node;
  if (root === 'ResponseStatus') {
    const statusCode = text(body.statusCode);
    const statusString = text(body.statusString) ?? null;
    const sub = text(body.subStatusCode) ?? null;
    // statusCode 1 is "OK": an answer to a PUT, not an error.
    if (statusCode !== '1') throw new IsapiError(`the device answered ${statusString ?? `status ${statusCode}`}${sub ? ` (${sub})` : ''}`, statusString, sub);
  }
  if (root === 'userCheck') {
    const value = text(body.statusValue);
    throw new IsapiError(`the device refused the user (${value ?? '?'} ${text(body.statusString) ?? ''})`.trim(), text(body.statusString) ?? null);
  }
  return { root, body };
}

function expectRoot(xml: string, name: string): Node {
  const { root, body } = parseIsapi(xml);
  if (root !== name) throw new IsapiError(`expected <${name}>, the device answered <${root}>`);
  return body;
}

export interface DeviceInfo {
  name: string;
  model: string;
  serial: string;
  firmware: string;
}

/** `GET /ISAPI/System/deviceInfo`. */
export function parseDeviceInfo(xml: string): DeviceInfo {
  const b = expectRoot(xml, 'DeviceInfo');
  return { name: text(b.deviceName) ?? '', model: text(b.model) ?? '', serial: text(b.serialNumber) ?? '', firmware: [text(b.firmwareVersion), text(b.firmwareReleasedDate)].filter(Boolean).join(' ') };
}

export interface DeviceTime {
  /** The device's wall clock as it says it, e.g. `2021-08-18T15:18:15+03:00` (older firmware: no offset). */
  localTime: string;
  /** Its POSIX-style zone, e.g. `CST-3:00:00` (which is UTC+3), or ''. */
  timeZone: string;
}

/** `GET /ISAPI/System/time`. */
export function parseDeviceTime(xml: string): DeviceTime {
  const b = expectRoot(xml, 'Time');
  const localTime = text(b.localTime);
  if (!localTime) throw new IsapiError('the device told no <localTime>');
  return { localTime, timeZone: text(b.timeZone) ?? '' };
}

/** The main-stream track ids (`101`, `201`...) of `GET /ISAPI/Streaming/channels`. */
export function parseChannels(xml: string): string[] {
  const b = expectRoot(xml, 'StreamingChannelList');
  const ids = ((b.StreamingChannel ?? []) as Node[]).map((c) => text(c.id) ?? '').filter((id) => /^\d*01$/.test(id));
  return [...new Set(ids)].sort((a, c) => Number(a) - Number(c));
}

export interface SearchRequest {
  searchId: string;
  tracks: string[];
  /** Device times as the search wants them: `2021-08-18T00:00:00Z`. */
  start: string;
  end: string;
  position: number;
  maxResults: number;
  /** `trackIDList` (most firmware) or `trackList` (some). */
  trackElement: 'trackIDList' | 'trackList';
  ns: IsapiNamespace;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The body of `POST /ISAPI/ContentMgmt/search`; `searchResultPostion` as the devices spell it. */
export function searchRequestXml(r: SearchRequest): string {
  const tracks = r.tracks.map((t) => `<trackID>${escapeXml(t)}</trackID>`).join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<CMSearchDescription version="${r.ns === 'ver20' ? '2.0' : '1.0'}" xmlns="${NS[r.ns]}">` +
    `<searchID>${escapeXml(r.searchId)}</searchID>` +
    `<${r.trackElement}>${tracks}</${r.trackElement}>` +
    `<timeSpanList><timeSpan><startTime>${escapeXml(r.start)}</startTime><endTime>${escapeXml(r.end)}</endTime></timeSpan></timeSpanList>` +
    `<maxResults>${r.maxResults}</maxResults>` +
    `<searchResultPostion>${r.position}</searchResultPostion>` +
    `<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>` +
    `</CMSearchDescription>`
  );
}

export interface SearchMatch {
  trackId: string;
  /** As the device wrote them. */
  start: string;
  end: string;
  playbackUri: string;
  /** The `size=` the URI announces, bytes, or null. */
  size: number | null;
  /** The `name=` of the URI (the device's file name), or null. */
  fileName: string | null;
}

export interface SearchResult {
  status: 'OK' | 'MORE' | 'NO MATCHES';
  matches: SearchMatch[];
  /** Which namespace the device answered in (it takes requests in the same). */
  ns: IsapiNamespace;
}

/** The answer to a search; an IsapiError for an error or a status it does not know. */
export function parseSearchResult(xml: string): SearchResult {
  const b = expectRoot(xml, 'CMSearchResult');
  // The parser drops xmlns with the prefixes: the raw root says it, or its version.
  const ns: IsapiNamespace = /<CMSearchResult\b[^>]*hikvision\.com\/ver10/.test(xml) || text(b['@version']) === '1.0' ? 'ver10' : 'ver20';
  const status = (text(b.responseStatusStrg) ?? '').toUpperCase();
  if (status !== 'OK' && status !== 'MORE' && status !== 'NO MATCHES') throw new IsapiError(`a search answered with status ${JSON.stringify(status)}`);
  const list = (b.matchList ?? {}) as Node;
  // An empty <matchList/> parses as ''.
  const items = typeof list === 'object' ? ((list.searchMatchItem ?? []) as Node[]) : [];
  const matches = items.flatMap((m): SearchMatch[] => {
    const span = ((m.timeSpan ?? []) as Node[])[0] ?? {};
    const media = (m.mediaSegmentDescriptor ?? {}) as Node;
    const playbackUri = text(media.playbackURI);
    // A match without a URI or times cannot be fetched or placed.
    if (!playbackUri || !Number.isFinite(Date.parse(text(span.startTime) ?? '')) || !Number.isFinite(Date.parse(text(span.endTime) ?? ''))) return [];
    const query = new URLSearchParams(playbackUri.split('?')[1] ?? '');
    const size = Number(query.get('size'));
    return [{ trackId: text(((m.trackID ?? []) as unknown[])[0]) ?? '', start: text(span.startTime) ?? '', end: text(span.endTime) ?? '', playbackUri, size: Number.isSafeInteger(size) && size > 0 ? size : null, fileName: query.get('name') }];
  });
  return { status: status as SearchResult['status'], matches, ns };
}

/** The body of `GET /ISAPI/ContentMgmt/download`: the playback URI, its `&` escaped. */
export function downloadRequestXml(playbackUri: string, ns: IsapiNamespace): string {
  return `<?xml version="1.0" encoding="UTF-8"?><downloadRequest version="${ns === 'ver20' ? '2.0' : '1.0'}" xmlns="${NS[ns]}"><playbackURI>${escapeXml(playbackUri)}</playbackURI></downloadRequest>`;
}
