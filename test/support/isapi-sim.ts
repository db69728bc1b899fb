import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { digestResponse, parseAuthParams } from '../../src/runners/hikvision/digest.js';
import { NS, type IsapiNamespace } from '../../src/runners/hikvision/isapi-xml.js';

/** A recording on the simulated NVR: times in UTC. */
export interface SimClip {
  track: string;
  start: string;
  end: string;
  data: Buffer;
}

export type ClipQuirk = 'http500' | 'xml200' | 'xml-as-video' | 'short-then-full' | 'drop-clean' | 'drop-reset' | 'empty200' | 'part206';

/** A simulated Hikvision NVR's ways. Defaults: ver20, trackIDList, honest paging, UTC, admin/secret. */
export interface SimOptions {
  user?: string;
  password?: string;
  ns?: IsapiNamespace;
  /** The element it takes the tracks in; the other is answered "badXmlContent". */
  trackElement?: 'trackIDList' | 'trackList';
  /** It answers page one whatever the position asks (some firmware). */
  ignorePosition?: boolean;
  /** Its time zone, minutes east of UTC. */
  offsetMin?: number;
  /** Its `/System/time` local time carries the offset (newer firmware). Default true. */
  timeWithOffset?: boolean;
  /** Its own cap on a page's matches. */
  pageCap?: number;
  /** "Invalid Operation" on /Streaming/channels (OEM clones). */
  channelsInvalid?: boolean;
  /** The digest algorithm it asks for. Default MD5. */
  algorithm?: 'MD5' | 'MD5-sess' | 'SHA-256';
  /** Every Nth authorised request is answered 401 with a new nonce and stale=true. */
  staleEvery?: number;
  /** Every Nth authorised request is answered 401 with a new nonce, not saying stale (some firmware). */
  rotateEvery?: number;
  /** Per clip index: how its first download goes wrong (later ones are fine). */
  quirks?: Map<number, ClipQuirk>;
  /** Clip indexes whose every download answers HTTP 500 while they are in the set (a test may empty it: the disk is back). */
  broken?: Set<number>;
  /** Paces each download, bytes per second. */
  bytesPerSecond?: number;
  /** A download goes silent for good after this many bytes (the connection stays open). */
  stallAfter?: number;
  /** Per clip index: the file name (`name=` of its playback URI) it answers, whatever it is. */
  fileNames?: string[];
  /** Per clip index: the trackID its search answers, whatever was asked. */
  trackIds?: string[];
}

export interface RequestLog {
  method: string;
  path: string;
  status: number;
  body: string;
}

export interface IsapiSim {
  url: string;
  requests: RequestLog[];
  /** The most downloads it served at once. */
  peakDownloads(): number;
  close(): Promise<void>;
}

const REALM = 'IP Camera(C1234)';
const compact = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d+/, '');
const status = (code: number, text: string, sub: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="${NS.ver20}"><statusCode>${code}</statusCode><statusString>${text}</statusString><subStatusCode>${sub}</subStatusCode></ResponseStatus>`;
const tag = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1] as string);

/** A Hikvision NVR of our own making on a real socket, digest auth and all, with the quirks asked for. */
export async function startIsapiSim(clips: SimClip[], o: SimOptions = {}): Promise<IsapiSim> {
  const user = o.user ?? 'admin';
  const password = o.password ?? 'secret';
  const ns = o.ns ?? 'ver20';
  const nonces = new Set<string>();
  let nonce = randomBytes(8).toString('hex');
  nonces.add(nonce);
  let authorised = 0;
  const failedOnce = new Set<number>();
  const requests: RequestLog[] = [];
  const nameOf = (i: number) => o.fileNames?.[i] ?? `ch${String(i).padStart(2, '0')}_${String(i).padStart(16, '0')}`;
  const uriOf = (c: SimClip, i: number) => `rtsp://10.0.0.5/Streaming/tracks/${c.track}/?starttime=${compact(c.start)}&endtime=${compact(c.end)}&name=${encodeURIComponent(nameOf(i))}&size=${c.data.length}`;
  const escape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>${body.replace(/^<(\w+)/, `<$1 version="${ns === 'ver20' ? '2.0' : '1.0'}" xmlns="${NS[ns]}"`)}`;

  const challenge = (res: http.ServerResponse, stale: boolean) => {
    const algorithm = o.algorithm ? `, algorithm=${o.algorithm}` : '';
    res.writeHead(401, [['WWW-Authenticate', `Basic realm="${REALM}"`], ['WWW-Authenticate', `Digest qop="auth", realm="${REALM}", nonce="${nonce}", stale="${stale ? 'TRUE' : 'FALSE'}"${algorithm}`], ['Content-Type', 'application/xml']]);
    res.end('<userCheck><statusValue>401</statusValue><statusString>Unauthorized</statusString></userCheck>');
  };
  /** Nonce counts seen per nonce: a count used twice is a replay, refused. */
  const counts = new Map<string, Set<string>>();
  const authorisedRequest = (req: http.IncomingMessage): 'ok' | 'none' | 'stale' | 'wrong' => {
    const h = req.headers.authorization;
    if (!h?.startsWith('Digest ')) return 'none';
    const p = parseAuthParams(h.slice(7));
    if (p.get('username') !== user || p.get('realm') !== REALM || p.get('uri') !== req.url) return 'wrong';
    if (!nonces.has(p.get('nonce') ?? '')) return 'stale';
    const seen = counts.get(p.get('nonce') as string) ?? new Set<string>();
    counts.set(p.get('nonce') as string, seen);
    if (seen.has(p.get('nc') ?? '')) return 'wrong';
    seen.add(p.get('nc') ?? '');
    if ((p.get('algorithm') ?? 'MD5').toUpperCase() !== (o.algorithm ?? 'MD5').toUpperCase()) return 'wrong';
    const expected = digestResponse({ algorithm: (o.algorithm ?? 'MD5').toUpperCase(), username: user, password, realm: REALM, nonce: p.get('nonce') as string, method: req.method ?? 'GET', uri: req.url ?? '', qop: p.get('qop') === 'auth' ? 'auth' : null, nc: p.get('nc') ?? '', cnonce: p.get('cnonce') ?? '' });
    return p.get('response') === expected ? 'ok' : 'wrong';
  };

  const search = (body: string): string => {
    const wants = o.trackElement ?? 'trackIDList';
    if (!body.includes(`<${wants}>`)) return status(4, 'Invalid XML Content', 'badXmlContent');
    const tracks = tag(body, 'trackID');
    const [from] = tag(body, 'startTime');
    const [to] = tag(body, 'endTime');
    const max = Math.min(Number(tag(body, 'maxResults')[0] ?? 40), o.pageCap ?? Infinity);
    const position = o.ignorePosition ? 0 : Number(tag(body, 'searchResultPostion')[0] ?? 0);
    const found = clips
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => tracks.includes(c.track) && Date.parse(c.end) > Date.parse(from ?? '') && Date.parse(c.start) < Date.parse(to ?? ''))
      .sort((a, b) => Date.parse(a.c.start) - Date.parse(b.c.start));
    const page = found.slice(position, position + max);
    const state = found.length === 0 ? 'NO MATCHES' : position + page.length < found.length ? 'MORE' : 'OK';
    const items = page
      .map(({ c, i }) => `<searchMatchItem><sourceID>{00000000-0000-0000-0000-000000000000}</sourceID><trackID>${escape(o.trackIds?.[i] ?? c.track)}</trackID><timeSpan><startTime>${c.start}</startTime><endTime>${c.end}</endTime></timeSpan><mediaSegmentDescriptor><contentType>video</contentType><codecType>H.264-BP</codecType><playbackURI>${uriOf(c, i).replace(/&/g, '&amp;')}</playbackURI></mediaSegmentDescriptor></searchMatchItem>`)
      .join('');
    return xml(`<CMSearchResult><searchID>${tag(body, 'searchID')[0] ?? ''}</searchID><responseStatus>true</responseStatus><responseStatusStrg>${state}</responseStatusStrg><numOfMatches>${page.length}</numOfMatches><matchList>${items}</matchList></CMSearchResult>`);
  };

  let downloading = 0;
  let peak = 0;
  const download = async (body: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<number> => {
    downloading++;
    peak = Math.max(peak, downloading);
    try {
      return await serveClip(body, req, res);
    } finally {
      downloading--;
    }
  };
  const serveClip = async (body: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<number> => {
    const uri = (tag(body, 'playbackURI')[0] ?? '').replace(/&amp;/g, '&');
    const name = new URLSearchParams(uri.split('?')[1] ?? '').get('name');
    const i = clips.findIndex((_, k) => nameOf(k) === name);
    const clip = clips[i];
    if (!clip) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end(status(4, 'Invalid Operation', 'notSupport'));
      return 404;
    }
    if (o.broken?.has(i)) {
      res.writeHead(500, { 'content-type': 'application/xml' }).end(status(5, 'Device Error', 'hdError'));
      return 500;
    }
    const quirk = failedOnce.has(i) ? undefined : o.quirks?.get(i);
    if (quirk) failedOnce.add(i);
    if (quirk === 'http500') {
      res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body>500 Internal Server Error</body></html>');
      return 500;
    }
    if (quirk === 'xml200') {
      res.writeHead(200, { 'content-type': 'application/xml' }).end(status(6, 'Device Busy', 'deviceBusy'));
      return 200;
    }
    if (quirk === 'xml-as-video') {
      res.writeHead(200, { 'content-type': 'video/mp4' }).end(status(6, 'Device Busy', 'deviceBusy'));
      return 200;
    }
    if (quirk === 'empty200') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '0' }).end();
      return 200;
    }
    if (quirk === 'part206') {
      // A part nobody asked for: from the middle.
      const half = Math.floor(clip.data.length / 2);
      res.writeHead(206, { 'content-type': 'video/mp4', 'content-range': `bytes ${half}-${clip.data.length - 1}/${clip.data.length}` }).end(clip.data.subarray(half));
      return 206;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    const bytes = quirk === 'short-then-full' ? clip.data.subarray(0, Math.floor(clip.data.length / 2)) : clip.data.subarray(from);
    const code = range && quirk !== 'short-then-full' ? 206 : 200;
    res.writeHead(code, { 'content-type': 'video/mp4', 'content-length': String(bytes.length), ...(code === 206 ? { 'content-range': `bytes ${from}-${clip.data.length - 1}/${clip.data.length}` } : {}) });
    if (quirk === 'drop-clean' || quirk === 'drop-reset') {
      res.write(bytes.subarray(0, Math.floor(bytes.length / 3)), () => (quirk === 'drop-reset' ? res.socket?.resetAndDestroy() : res.socket?.end()));
      return code;
    }
    const step = o.bytesPerSecond ? Math.max(1, Math.floor(o.bytesPerSecond / 20)) : bytes.length;
    for (let at = 0; at < bytes.length; at += step) {
      // Silent until the client goes away.
      if (o.stallAfter !== undefined && at >= o.stallAfter) return new Promise<number>((r) => res.on('close', () => r(code)));
      if (!res.write(bytes.subarray(at, at + step))) await new Promise((r) => res.once('drain', r));
      // Paced between chunks, not after the last: the client has the clip whole then.
      if (o.bytesPerSecond && at + step < bytes.length) await new Promise((r) => setTimeout(r, 50));
    }
    res.end();
    return code;
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const log = (code: number) => requests.push({ method: req.method ?? '', path: req.url ?? '', status: code, body });
    const auth = authorisedRequest(req);
    if (auth !== 'ok') {
      // A request without credentials gets a nonce of its own, as devices hand them out.
      if (auth === 'none') {
        nonce = randomBytes(8).toString('hex');
        nonces.add(nonce);
      }
      challenge(res, auth === 'stale' && !o.rotateEvery);
      return log(401);
    }
    authorised++;
    const rotate = o.staleEvery && authorised % o.staleEvery === 0 ? 'stale' : o.rotateEvery && authorised % o.rotateEvery === 0 ? 'silent' : null;
    if (rotate) {
      nonces.delete(nonce);
      nonce = randomBytes(8).toString('hex');
      nonces.add(nonce);
      challenge(res, rotate === 'stale');
      return log(401);
    }
    const path = (req.url ?? '').split('?')[0];
    const send = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'application/xml' }).end(text);
      log(code);
    };
    if (req.method === 'GET' && path === '/ISAPI/System/deviceInfo') return send(200, xml('<DeviceInfo><deviceName>Simulated NVR</deviceName><model>DS-SIM-8</model><serialNumber>SIM0001</serialNumber><firmwareVersion>V4.0.0</firmwareVersion><firmwareReleasedDate>build 200101</firmwareReleasedDate></DeviceInfo>'));
    if (req.method === 'GET' && path === '/ISAPI/System/time') {
      const off = o.offsetMin ?? 0;
      const local = new Date(Date.now() + off * 60_000).toISOString().slice(0, 19);
      const sign = off < 0 ? '-' : '+';
      const zone = `${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
      return send(200, xml(`<Time><timeMode>NTP</timeMode><localTime>${local}${o.timeWithOffset === false ? '' : `${sign}${zone}`}</localTime><timeZone>CST${off <= 0 ? '+' : '-'}${zone}:00</timeZone></Time>`));
    }
    if (req.method === 'GET' && path === '/ISAPI/Streaming/channels') {
      if (o.channelsInvalid) return send(403, status(4, 'Invalid Operation', 'invalidOperation'));
      const ids = [...new Set(clips.map((c) => c.track))].flatMap((t) => [t, t.replace(/1$/, '2')]);
      return send(200, xml(`<StreamingChannelList>${ids.map((id) => `<StreamingChannel><id>${id}</id><channelName>Camera ${id}</channelName></StreamingChannel>`).join('')}</StreamingChannelList>`));
    }
    if (req.method === 'POST' && path === '/ISAPI/ContentMgmt/search') return send(200, search(body));
    if (req.method === 'GET' && path === '/ISAPI/ContentMgmt/download') return log(await download(body, req, res));
    // A picture: its playback URI itself, as a plain GET.
    if (req.method === 'GET' && /^\/ISAPI\/Streaming\/tracks\/\d+03\/$/.test(path ?? '')) {
      const name = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('name');
      const pic = clips.find((_, k) => nameOf(k) === name);
      if (!pic) return send(404, status(4, 'Invalid Operation', 'notSupport'));
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(pic.data.length) }).end(pic.data);
      return log(200);
    }
    send(404, status(4, 'Invalid Operation', 'notSupport'));
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    peakDownloads: () => peak,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
