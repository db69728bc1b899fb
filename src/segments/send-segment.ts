import fs from 'node:fs';
import path from 'node:path';
import send from '@fastify/send';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { frameHeader } from './batch.js';

/** Files up to this size are read whole on the event loop's thread, bytes (8 MiB: minutes of video). */
const READ_WHOLE_MAX = 8 * 1024 * 1024;

/** Requests with one of these are left to @fastify/send, which answers ranges and conditions. */
const CONDITIONAL = ['range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];

type Whole = { data: Buffer; stat: fs.Stats } | 'missing' | 'other';

/**
 * Reads a file whole with blocking calls, as nginx does without aio: from the page cache that
 * costs microseconds, while the thread pool's open, stat, read and close hand-offs cost ~200 µs a
 * file. 'other' for what must be read otherwise (too large, unreadable). `prefix` bytes are left
 * free at the start of the buffer, and `data` includes them.
 */
function readWhole(file: string, prefix = 0): Whole {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'other';
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return 'missing';
    if (stat.size > READ_WHOLE_MAX) return 'other';
    const data = Buffer.allocUnsafe(prefix + stat.size);
    let n = 0;
    for (let k = -1; n < stat.size && k !== 0; n += k) k = fs.readSync(fd, data, prefix + n, stat.size - n, n);
    // Shorter than its size said: cut while being read, so not served as whole.
    return n === stat.size ? { data, stat } : 'other';
  } catch {
    return 'other';
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Answers GET/HEAD of `root/rel` with the headers of @fastify/send (ETag `W/"size-mtime"` in hex,
 * Last-Modified, Accept-Ranges, its content type), in one write when the file is small.
 */
export async function sendSegment(req: FastifyRequest, reply: FastifyReply, root: string, rel: string): Promise<FastifyReply> {
  if (!CONDITIONAL.some((h) => req.headers[h] !== undefined)) {
    const whole = readWhole(path.join(root, rel));
    if (whole === 'missing') return reply.code(404).send('Not Found');
    if (whole !== 'other') {
      const { data, stat } = whole;
      return reply
        .headers({
          'accept-ranges': 'bytes',
          'last-modified': stat.mtime.toUTCString(),
          etag: `W/"${stat.size.toString(16)}-${stat.mtime.getTime().toString(16)}"`,
          'content-type': send.mime.getType(rel) ?? 'application/octet-stream',
        })
        .send(data);
    }
  }
  const r = await send(req.raw, rel, { root, dotfiles: 'deny', index: false, cacheControl: false });
  reply.code(r.statusCode).headers(r.headers);
  if (r.statusCode === 404) return reply.send('Not Found');
  return reply.send(r.stream);
}

/**
 * The frames of a batch answer (batch.ts): each name's header line and bytes, read as the
 * answer is sent. A small file is read with its header in one buffer; a large one is streamed.
 * A file that changes size while being sent ends the answer early (the client sees a short one).
 */
export async function* batchFrames(root: string, dir: string, names: readonly string[], servable: (name: string) => boolean): AsyncGenerator<Buffer> {
  for (const name of names) {
    const file = path.join(root, dir, name);
    if (!servable(name)) {
      yield frameHeader(name, null);
      continue;
    }
    // The header's length depends on the size, known only once the file is open: at most 12 digits.
    const room = Buffer.byteLength(name) + 14;
    const whole = readWhole(file, room);
    if (whole === 'missing') {
      yield frameHeader(name, null);
    } else if (whole !== 'other') {
      const header = frameHeader(name, whole.stat.size);
      const at = room - header.length;
      header.copy(whole.data, at);
      yield whole.data.subarray(at);
    } else {
      yield* streamFrame(file, name);
    }
  }
}

async function* streamFrame(file: string, name: string): AsyncGenerator<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch {
    yield frameHeader(name, null);
    return;
  }
  try {
    const { size } = await handle.stat();
    yield frameHeader(name, size);
    let sent = 0;
    for await (const chunk of handle.createReadStream({ start: 0, end: Math.max(0, size - 1), autoClose: false }) as AsyncIterable<Buffer>) {
      sent += chunk.length;
      yield chunk;
    }
    if (size > 0 && sent !== size) throw new Error(`${name} changed size while being sent`);
  } finally {
    await handle.close();
  }
}
