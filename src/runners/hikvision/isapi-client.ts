import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { longTimeout, MAX_TIMER_MS } from '../../core/long-timeout.js';
import { describeNetError } from '../../core/net.js';
import { serverOrigin } from './device-url.js';
import { DigestSession } from './digest.js';
import { IsapiError, parseChannels, parseDeviceInfo, parseDeviceTime, parseSearchResult, searchRequestXml, type DeviceInfo, type DeviceTime, type IsapiNamespace, type SearchMatch, type SearchRequest } from './isapi-xml.js';

/** The device refused the user or password: trying again will not help. */
export class IsapiAuthError extends Error {}
/** The device could not be reached or broke off (worth another try later). */
export class IsapiNetError extends Error {}

export interface IsapiClientOptions {
  /** `host`, `host:port`, or `http(s)://host[:port]`. */
  server: string;
  user: string;
  password: string;
  /** To open a connection, ms. */
  connectTimeoutMs: number;
  /** The longest silence within an answer, ms. */
  readTimeoutMs: number;
  /** Clips fetched at once (`per_device`). Default 2. */
  connections?: number;
  signal?: AbortSignal;
}

/** Larger XML answers are refused: a search page of 50 matches is ~40 KB. */
const MAX_XML_BYTES = 16 * 1024 * 1024;
/** Answers to one request's challenges before the credentials count as refused. */
const AUTH_TRIES = 3;
/** Matches asked for a page; devices cap it lower as they please. */
const PAGE = 50;
/** Pages one search may take (50,000 clips), against a device that never says it is done. */
const MAX_PAGES = 1000;
/** Recordings one track's search may find: more is a device gone wrong, not an archive. */
const MAX_MATCHES = 200_000;

/** A raw answer: status, headers as sent, and the body (whole for XML, a stream for media). */
export type Answer = http.IncomingMessage;

/**
 * A Hikvision device over ISAPI: digest auth on keep-alive connections, connect and read
 * timeouts, and the requests Drover needs. Node's HTTP client, which (unlike fetch) sends the
 * XML body the download request puts on a GET.
 */
export class IsapiClient {
  /** The device as messages name it (`host:port`). */
  readonly name: string;
  private readonly origin: URL;
  private readonly client: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly digest: DigestSession;
  /** What the device's searches take, learned on the first. */
  private dialect: Pick<SearchRequest, 'ns' | 'trackElement'> | null = null;

  constructor(private readonly o: IsapiClientOptions) {
    this.origin = serverOrigin(o.server);
    this.name = this.origin.host;
    this.client = this.origin.protocol === 'https:' ? https : http;
    // One connection per clip in flight, and one for searches beside them.
    this.agent = new this.client.Agent({ keepAlive: true, maxSockets: (o.connections ?? 2) + 1 });
    this.digest = new DigestSession(o.user, o.password);
  }

  /** The namespace the device answers in (for download requests): ver20 until it says otherwise. */
  get ns(): IsapiNamespace {
    return this.dialect?.ns ?? 'ver20';
  }

  /**
   * Sends a request, answering digest challenges; resolves with the answer once its headers are
   * in. An IsapiAuthError when the credentials are refused, an IsapiNetError when the device
   * cannot be reached or goes quiet.
   */
  async send(method: 'GET' | 'POST' | 'PUT', path: string, body?: string, headers: http.OutgoingHttpHeaders = {}): Promise<Answer> {
    for (let tries = 0; ; tries++) {
      // Signed as it goes on the wire: Node sends the path re-encoded, and the digest's uri must be that.
      const wire = new URL(path, this.origin);
      const signed = this.digest.authorization(method, wire.pathname + wire.search);
      const res = await this.once(method, path, body, { ...headers, ...(signed ? { authorization: signed.header } : {}) });
      if (res.statusCode !== 401) return res;
      res.resume();
      const challenges = wwwAuthenticate(res);
      if (tries + 1 >= AUTH_TRIES || this.digest.challenged(challenges, signed?.nonce ?? null) === 'refused') {
        throw new IsapiAuthError(`${this.name}: the device refused user "${this.o.user}" (wrong user or password${challenges.some((c) => /^\s*digest/i.test(c)) ? '' : ', or it offers no digest authentication'})`);
      }
    }
  }

  /** A request whose answer is XML: the text, or an IsapiError naming the HTTP status when it is not 2xx and not XML. */
  async xml(method: 'GET' | 'POST', path: string, body?: string): Promise<string> {
    const res = await this.send(method, path, body, body === undefined ? {} : { 'content-type': 'application/xml' });
    const text = (await readWhole(res, MAX_XML_BYTES, `${this.name}${path}`)).toString('utf8');
    // An error the device words in XML is read as such by the caller's parser.
    if ((res.statusCode ?? 0) >= 300 && !text.trimStart().startsWith('<')) throw new IsapiError(`${this.name}${path}: HTTP ${res.statusCode}`);
    return text;
  }

  deviceInfo(): Promise<DeviceInfo> {
    return this.xml('GET', '/ISAPI/System/deviceInfo').then(parseDeviceInfo);
  }

  time(): Promise<DeviceTime> {
    return this.xml('GET', '/ISAPI/System/time').then(parseDeviceTime);
  }

  /** The main-stream tracks (101, 201...). An IsapiError when the device will not list them (OEM clones). */
  channels(): Promise<string[]> {
    return this.xml('GET', '/ISAPI/Streaming/channels').then(parseChannels);
  }

  /**
   * Every recording of `tracks` between two UTC times (`…Z`), each once (by playback URI), track
   * by track in the order found. The first search finds which namespace and track element the
   * device takes.
   */
  async search(tracks: string[], start: string, end: string): Promise<SearchMatch[]> {
    const found = new Map<string, SearchMatch>();
    for (const track of tracks) for (const m of await this.searchTrack(track, start, end)) found.set(m.playbackUri, m);
    return [...found.values()];
  }

  /**
   * One track's recordings. Pages by position while the device says MORE. A device that ignores
   * the position (it answers a page seen before) is followed by time instead: from the latest
   * start on the page, which the next page repeats (and is dropped) so that no recording that
   * overlaps it is lost. One track at a time, so that only one recording begins at an instant.
   */
  private async searchTrack(track: string, start: string, end: string): Promise<SearchMatch[]> {
    const found = new Map<string, SearchMatch>();
    let position = 0;
    let from = start;
    let byTime = false;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES || found.size > MAX_MATCHES) throw new IsapiError(`the search of track ${track} still said MORE after ${page} pages and ${found.size} recordings; narrow the span`);
      const result = await this.searchPage({ searchId: randomUUID().toUpperCase(), tracks: [track], start: from, end, position, maxResults: PAGE });
      const fresh = result.matches.filter((m) => !found.has(m.playbackUri));
      for (const m of fresh) found.set(m.playbackUri, m);
      if (result.status !== 'MORE' || fresh.length === 0) {
        if (result.status !== 'MORE' || byTime) break;
        // The same page again: this device pages by time.
        byTime = true;
      }
      if (byTime) {
        const latest = result.matches.reduce((t, m) => Math.max(t, Date.parse(m.start) || 0), 0);
        if (!(latest > Date.parse(from))) break;
        from = `${new Date(latest).toISOString().slice(0, 19)}Z`;
        position = 0;
      } else position += result.matches.length;
    }
    return [...found.values()];
  }

  private async searchPage(r: Omit<SearchRequest, 'ns' | 'trackElement'>) {
    if (this.dialect) return parseSearchResult(await this.xml('POST', '/ISAPI/ContentMgmt/search', searchRequestXml({ ...r, ...this.dialect })));
    let first: unknown;
    for (const ns of ['ver20', 'ver10'] as const) {
      for (const trackElement of ['trackIDList', 'trackList'] as const) {
        try {
          const result = parseSearchResult(await this.xml('POST', '/ISAPI/ContentMgmt/search', searchRequestXml({ ...r, ns, trackElement })));
          this.dialect = { ns: result.ns, trackElement };
          return result;
        } catch (err) {
          if (!(err instanceof IsapiError)) throw err;
          first ??= err;
        }
      }
    }
    throw first;
  }

  close(): void {
    this.agent.destroy();
  }

  private once(method: string, path: string, body: string | undefined, headers: http.OutgoingHttpHeaders): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => reject(err instanceof IsapiNetError ? err : new IsapiNetError(`${this.name}: ${describeNetError(err)}`));
      const quiet = () => new IsapiNetError(`${this.name}: no answer within ${this.o.readTimeoutMs / 1000} s`);
      // The idle timeout clamped: a socket's timer past 24.8 days would fire at once (any longer is never, in effect).
      const req = this.client.request(new URL(path, this.origin), { method, agent: this.agent, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) }, timeout: Math.min(MAX_TIMER_MS, this.o.readTimeoutMs), ...(this.o.signal ? { signal: this.o.signal } : {}) }, (res) => {
        // From here a silence is the answer's: its reader sees why it ended.
        req.removeAllListeners('timeout');
        req.on('timeout', () => res.destroy(quiet()));
        resolve(res);
      });
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        // A long timer: `connect_timeout` comes from the config.
        const t = longTimeout(() => req.destroy(new IsapiNetError(`${this.name}: no connection within ${this.o.connectTimeoutMs / 1000} s`)), this.o.connectTimeoutMs);
        socket.once('connect', () => t.cancel());
        socket.once('close', () => t.cancel());
      });
      req.on('timeout', () => req.destroy(quiet()));
      req.on('error', fail);
      req.end(body);
    });
  }
}

/** Every `WWW-Authenticate` header as sent (Node joins repeated ones, which would merge Basic and Digest). */
function wwwAuthenticate(res: Answer): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]?.toLowerCase() === 'www-authenticate') out.push(res.rawHeaders[i + 1] as string);
  return out;
}

/** A body whole, or an IsapiNetError when it breaks off or passes `max` bytes. */
export function readWhole(res: Answer, max: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        res.destroy();
        reject(new IsapiNetError(`${what}: an answer over ${max} bytes`));
      } else chunks.push(c);
    });
    res.on('error', (err) => reject(new IsapiNetError(`${what}: ${describeNetError(err)}`)));
    res.on('end', () => (res.complete ? resolve(Buffer.concat(chunks, n)) : reject(new IsapiNetError(`${what}: the answer broke off`))));
  });
}
