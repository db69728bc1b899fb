import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What a download learned from the server, kept with the partial file for the next attempt. */
export interface PartialMeta {
  /** The job's URL as `sha256:HEX` (older partial files: the URL itself): it may carry a token, and this file stays on disk. */
  url: string;
  etag: string | null;
  lastModified: string | null;
  /** Bytes in all, when the server said. */
  total: number | null;
  /** The server answered a range request with 206. */
  ranges: boolean;
  contentType: string | null;
  /** The file name the server suggested (Content-Disposition), unsanitised. */
  suggestedName: string | null;
}

/** A byte range [start, end) of the file; `pos` is how far it is written. */
export interface Segment {
  index: number;
  start: number;
  end: number;
  pos: number;
  /** End of the request in flight for this segment (not stored: a new attempt asks again). */
  reqEnd?: number;
  /** `pos` as the table has it; behind `pos` by less than RECORD_BYTES. */
  recorded: number;
}

/** The table's position of a segment is updated at least this often, bytes (and at every flush). */
const RECORD_BYTES = 1024 * 1024;

const ENTRY = 24;

/**
 * Open flags that refuse a symbolic link as the file itself (ELOOP): a link planted in the temp
 * directory must not make the worker write, or read back, someone else's file. 0 where the
 * system has no such flag (Windows).
 */
const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const READ = fs.constants.O_RDONLY | NOFOLLOW;
/** Read and write, created if missing, never truncated (a resumed file keeps its bytes). */
const UPDATE = fs.constants.O_RDWR | fs.constants.O_CREAT | NOFOLLOW;
const REPLACE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | NOFOLLOW;

/** Thrown when the partial download's directory or one of its files is a symbolic link. */
export class SymlinkError extends Error {
  constructor(readonly path: string) {
    super(`${path} is a symbolic link; a partial download is not written through one`);
  }
}

/**
 * A download in progress: TEMPDIR/JOB/data (the bytes, written in place), meta.json, and
 * `segments`, a table of [start, end, pos] float64 triples updated in place after every write.
 * The path depends only on the job id, so a worker killed with SIGKILL, a time limit or a
 * restart finds it again and goes on from `pos`.
 */
export class PartialDownload {
  readonly dataPath: string;
  private readonly metaPath: string;
  private readonly tablePath: string;
  meta: PartialMeta | null = null;
  segments: Segment[] = [];
  private dataFd: number | null = null;
  private tableFd: number | null = null;
  private readonly cell = Buffer.alloc(8);

  constructor(readonly dir: string) {
    this.dataPath = path.join(dir, 'data');
    this.metaPath = path.join(dir, 'meta.json');
    this.tablePath = path.join(dir, 'segments');
  }

  /**
   * Opens (creating the directory) and reads back what an earlier attempt left. Throws a
   * SymlinkError when the directory or a file in it is a symbolic link.
   */
  open(): this {
    fs.mkdirSync(this.dir, { recursive: true });
    // mkdir is content with a link to a directory: the job's directory must be a real one.
    if (fs.lstatSync(this.dir).isSymbolicLink()) throw new SymlinkError(this.dir);
    try {
      this.meta = JSON.parse(readNoFollow(this.metaPath).toString('utf8')) as PartialMeta;
      const table = readNoFollow(this.tablePath);
      for (let i = 0; i + ENTRY <= table.length; i += ENTRY) {
        const pos = table.readDoubleLE(i + 16);
        this.segments.push({ index: i / ENTRY, start: table.readDoubleLE(i), end: table.readDoubleLE(i + 8), pos, recorded: pos });
      }
      if (!fs.existsSync(this.dataPath)) this.forget();
    } catch {
      this.forget();
    }
    this.dataFd = openNoFollow(this.dataPath, UPDATE);
    try {
      this.tableFd = openNoFollow(this.tablePath, UPDATE);
    } catch (err) {
      fs.closeSync(this.dataFd);
      this.dataFd = null;
      throw err;
    }
    return this;
  }

  /** Bytes already written, by the table. */
  done(): number {
    return this.segments.reduce((n, s) => n + (s.pos - s.start), 0);
  }

  /** Starts over: no meta, no segments, an empty data file. */
  reset(meta: PartialMeta): void {
    this.forget();
    // Only a file with bytes in it is truncated: ext4 flushes a file truncated to zero when it
    // is closed (auto_da_alloc), which costs a fresh gigabyte about a second at delivery.
    for (const fd of [this.dataFd, this.tableFd]) if (fd !== null && fs.fstatSync(fd).size > 0) fs.ftruncateSync(fd, 0);
    this.setMeta(meta);
  }

  setMeta(meta: PartialMeta): void {
    this.meta = meta;
    const tmp = `${this.metaPath}.new`;
    const fd = openNoFollow(tmp, REPLACE);
    try {
      fs.writeFileSync(fd, JSON.stringify(meta));
    } finally {
      fs.closeSync(fd);
    }
    // A rename replaces a link at meta.json itself; it never writes through it.
    fs.renameSync(tmp, this.metaPath);
  }

  /** Adds ranges in one write of the table. */
  addSegments(ranges: Array<[number, number]>): Segment[] {
    const first = this.segments.length;
    const b = Buffer.alloc(ENTRY * ranges.length);
    const added = ranges.map(([start, end], i) => {
      b.writeDoubleLE(start, i * ENTRY);
      b.writeDoubleLE(end, i * ENTRY + 8);
      b.writeDoubleLE(start, i * ENTRY + 16);
      const s: Segment = { index: first + i, start, end, pos: start, recorded: start };
      this.segments.push(s);
      return s;
    });
    if (b.length > 0) fs.writeSync(this.tableFd as number, b, 0, b.length, first * ENTRY);
    return added;
  }

  addSegment(start: number, end: number): Segment {
    return this.addSegments([[start, end]])[0] as Segment;
  }

  /**
   * Writes `buf` as the next bytes of the segment, at once (the caller's buffer is reused after
   * this returns). The table is updated after the write, every RECORD_BYTES, so it never claims
   * a byte that is not in the data file; a worker killed meanwhile fetches at most that again.
   * True when the table was updated.
   */
  write(s: Segment, buf: Buffer): boolean {
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.dataFd as number, buf, off, buf.length - off, s.pos + off);
    s.pos += buf.length;
    if (s.pos - s.recorded < RECORD_BYTES) return false;
    this.flush(s);
    return true;
  }

  /** Records the segment's position in the table. */
  flush(s: Segment): void {
    if (s.recorded === s.pos) return;
    this.writeCell(s.index, 16, s.pos);
    s.recorded = s.pos;
  }

  flushAll(): void {
    for (const s of this.segments) this.flush(s);
  }

  /** Reads [start, end) of the data file (written bytes only). */
  read(start: number, end: number): Buffer {
    const b = Buffer.allocUnsafe(end - start);
    let off = 0;
    while (off < b.length) {
      const n = fs.readSync(this.dataFd as number, b, off, b.length - off, start + off);
      if (n === 0) throw new Error(`the partial file ends at ${start + off}, before ${end}`);
      off += n;
    }
    return b;
  }

  /** Shortens a segment (its tail went to another connection). */
  setEnd(s: Segment, end: number): void {
    s.end = end;
    this.writeCell(s.index, 8, end);
  }

  close(): void {
    if (this.dataFd !== null) this.flushAll();
    for (const fd of [this.dataFd, this.tableFd]) if (fd !== null) fs.closeSync(fd);
    this.dataFd = this.tableFd = null;
  }

  /** Removes the directory and everything in it. */
  remove(): void {
    this.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private writeCell(index: number, offset: number, value: number): void {
    this.cell.writeDoubleLE(value, 0);
    fs.writeSync(this.tableFd as number, this.cell, 0, 8, index * ENTRY + offset);
  }

  private forget(): void {
    this.meta = null;
    this.segments = [];
    fs.rmSync(this.metaPath, { force: true });
  }
}

/** fs.openSync with `flags`, a symbolic link at `file` reported as a SymlinkError. */
function openNoFollow(file: string, flags: number): number {
  try {
    return fs.openSync(file, flags, 0o666);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new SymlinkError(file);
    throw err;
  }
}

function readNoFollow(file: string): Buffer {
  const fd = openNoFollow(file, READ);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** What a partial file keeps of its URL: enough to tell it is the same one, nothing to read a token from. */
export function urlFingerprint(href: string): string {
  return `sha256:${createHash('sha256').update(href).digest('hex')}`;
}
