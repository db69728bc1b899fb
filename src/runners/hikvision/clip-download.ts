import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { delay, longTimeout } from '../../core/long-timeout.js';
import { IsapiNetError, readWhole, type Answer, type IsapiClient } from './isapi-client.js';
import { downloadRequestXml, IsapiError, parseIsapi, type SearchMatch } from './isapi-xml.js';
import { isPhotoTrack } from './params.js';

/** A clip the device would not give whole: after its retries, with the device's words. */
export class ClipError extends Error {}

export interface ClipOptions {
  /** Tries after the first failure. Default 3. */
  retries?: number;
  /** First wait after a failure, ms, doubled each time. Default 2000. */
  backoffMs?: number;
  signal?: AbortSignal;
  /** Bytes as they arrive (for progress). */
  onBytes?(n: number): void;
  /** A try failed and another follows (`next` counts from 2), for the job's log. */
  onRetry?(error: string, next: number): void;
  /**
   * A try of a clip whose size is announced must be whole within `slackMs` plus its size at
   * `minBytesPerSec`: a device trickling bytes cannot hold the NVR for ever. Default 60 s and
   * 32 KiB/s (a 20 MB clip: 11 min).
   */
  deadline?: { slackMs: number; minBytesPerSec: number };
}

export interface ClipFile {
  size: number;
  sha256: string;
}

/** Media bodies never start like this: an error the device put where the clip belongs. */
const MARKUP = /^\s*<(\?xml|ResponseStatus|html|!DOCTYPE|userCheck)/i;
/** What of a body is looked at for markup, bytes: enough to hold a ResponseStatus's statusString. */
const SNIFF = 1024;

/**
 * Fetches one clip (`GET /ISAPI/ContentMgmt/download` with its playback URI) into `target`:
 * streamed into `target.part` while hashing, renamed into place only when whole. Never
 * delivered: a non-2xx answer, XML or HTML where media belongs, or fewer bytes than the `size=`
 * the URI announces (a clip still being written, or a dropped connection). Those are tried
 * again with backoff, from where the part file ends when the device takes a Range; then a
 * ClipError with the device's status string. A wrong password is not retried.
 */
export async function downloadClip(client: IsapiClient, match: SearchMatch, target: string, o: ClipOptions = {}): Promise<ClipFile> {
  const part = `${target}.part`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  // Ours are plain files: a link at the part's name (planted, or left by someone else) is removed,
  // never written or appended through.
  if (fs.lstatSync(part, { throwIfNoEntry: false })?.isSymbolicLink()) fs.rmSync(part);
  const retries = o.retries ?? 3;
  let last = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      if (attempt > 0) await delay((o.backoffMs ?? 2000) * 2 ** (attempt - 1), o.signal);
      const file = await fetchOnce(client, match, part, o);
      fs.renameSync(part, target);
      return file;
    } catch (err) {
      // Stopped, refused, or a local failure: nothing is left half-written.
      if (o.signal?.aborted || !(err instanceof ClipError || err instanceof IsapiNetError)) {
        fs.rmSync(part, { force: true });
        throw err;
      }
      last = err.message;
      if (attempt < retries) o.onRetry?.(last, attempt + 2);
    }
  }
  fs.rmSync(part, { force: true });
  throw new ClipError(`${match.fileName ?? match.playbackUri}: ${last} (after ${retries + 1} tries)`);
}

async function fetchOnce(client: IsapiClient, match: SearchMatch, part: string, o: ClipOptions): Promise<ClipFile> {
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const range = have > 0 ? { range: `bytes=${have}-` } : {};
  // A picture is fetched by its URI itself; a recording through the download request.
  const res = isPhotoTrack(match.trackId)
    ? await client.send('GET', pathOf(match.playbackUri), undefined, range)
    : await client.send('GET', '/ISAPI/ContentMgmt/download', downloadRequestXml(match.playbackUri, client.ns), { 'content-type': 'application/xml', ...range });
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw new ClipError(await refusal(res, `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
  if (status === 206 && have === 0) {
    res.destroy();
    throw new ClipError('HTTP 206 (a part) to a request for the whole clip');
  }
  const d = o.deadline ?? { slackMs: 60_000, minBytesPerSec: 32 * 1024 };
  const limitMs = match.size === null ? null : d.slackMs + (1000 * match.size) / d.minBytesPerSec;
  // A long timer: a big clip at a low minBytesPerSec can be given more than 24.8 days.
  const timer = limitMs === null ? null : longTimeout(() => res.destroy(new IsapiNetError(`not whole within ${(limitMs / 1000).toFixed(1)} s (its ${match.size} bytes at under ${d.minBytesPerSec} bytes/s)`)), limitMs);
  try {
    return await receive(res, match, part, have, status, o);
  } finally {
    timer?.cancel();
  }
}

async function receive(res: Answer, match: SearchMatch, part: string, have: number, status: number, o: ClipOptions): Promise<ClipFile> {
  const type = String(res.headers['content-type'] ?? '');
  if (/xml|html/i.test(type)) throw new ClipError(await refusal(res, `HTTP ${status} with ${type}`));
  // Resumed only when the device sends from where the part ends; otherwise from the start.
  const resumed = status === 206 && new RegExp(`^bytes ${have}-`).test(String(res.headers['content-range'] ?? ''));
  const hash = createHash('sha256');
  let size = 0;
  if (resumed) size = await hashFile(part, hash);
  const out = fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' });
  try {
    size += await pipeHashed(res, out, hash, resumed ? SNIFF : 0, o);
  } finally {
    await new Promise<void>((r) => out.end(r));
  }
  if (match.size !== null && size < match.size) throw new ClipError(`${size} of the ${match.size} bytes its URI announces (still being written, or cut off)`);
  if (size === 0) throw new ClipError('an empty answer where the clip belongs');
  return { size, sha256: hash.digest('hex') };
}

/** The path and query of a picture's playback URI, on the device's own origin (`http://IP/ISAPI/Streaming/tracks/103/?…`). */
function pathOf(uri: string): string {
  const m = /^[a-z]+:\/\/[^/]*(\/.*)$/i.exec(uri);
  const p = m?.[1] ?? uri;
  return p.startsWith('/ISAPI/') ? p : `/ISAPI${p}`;
}

/** The device's words for a refusal: its XML status string, or `fallback`. */
async function refusal(res: Answer, fallback: string): Promise<string> {
  const text = (await readWhole(res, 1024 * 1024, 'the answer').catch(() => Buffer.alloc(0))).toString('utf8');
  try {
    parseIsapi(text);
  } catch (err) {
    if (err instanceof IsapiError && err.statusString) return `${fallback}: ${err.statusString}${err.subStatusCode ? ` (${err.subStatusCode})` : ''}`;
  }
  return fallback;
}

/** The device's own words in the start of an ISAPI answer (`: Invalid Operation (notSupport)`), or nothing. */
function wordsIn(text: string): string {
  const words = /<statusString>([^<]{1,200})<\/statusString>/.exec(text)?.[1]?.trim();
  const sub = /<subStatusCode>([^<]{1,100})<\/subStatusCode>/.exec(text)?.[1]?.trim();
  return words ? `: ${words}${sub ? ` (${sub})` : ''}` : '';
}

/** Streams a body into `out` while hashing; the first bytes are checked for markup. Resolves with the count. */
function pipeHashed(res: Answer, out: fs.WriteStream, hash: Hash, sniffed: number, o: ClipOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let head = sniffed >= SNIFF ? null : Buffer.alloc(0);
    let settled = false;
    // Settled before the answer is destroyed: destroying it reports a break-off of its own.
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
      res.destroy();
    };
    res.on('data', (chunk: Buffer) => {
      if (head !== null) {
        head = Buffer.concat([head, chunk]).subarray(0, SNIFF);
        const text = head.toString('latin1');
        if (MARKUP.test(text)) return fail(new ClipError(`the device sent XML or HTML where the clip belongs${wordsIn(text)}`));
        if (head.length >= SNIFF) head = null;
      }
      n += chunk.length;
      hash.update(chunk);
      o.onBytes?.(chunk.length);
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
    });
    // The reason the answer was ended with (a read timeout), else that it broke off.
    const brokeOff = (err?: Error) => (res.errored instanceof IsapiNetError ? res.errored : new IsapiNetError(`the clip broke off${err ? `: ${err.message}` : ''}`));
    res.on('error', (err) => fail(brokeOff(err)));
    res.on('aborted', () => fail(brokeOff()));
    out.on('error', (err) => fail(err));
    res.on('end', () => (res.complete ? resolve(n) : fail(brokeOff())));
  });
}

/** The SHA-256 of a file on disk, hex. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFile(file, hash);
  return hash.digest('hex');
}

async function hashFile(file: string, hash: Hash): Promise<number> {
  let n = 0;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    n += chunk.length;
    hash.update(chunk);
  }
  return n;
}
