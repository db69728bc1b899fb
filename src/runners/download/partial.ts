import fs from 'node:fs';
import path from 'node:path';

/** What a download learned from the server, kept with the partial file for the next attempt. */
export interface PartialMeta {
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
  /** Received, not yet written: [flushedPos, pos). */
  pending?: Buffer[];
  pendingBytes?: number;
}

/** Bytes gathered per segment before one write: fewer system calls than a write per chunk. */
const FLUSH_BYTES = 1024 * 1024;

const ENTRY = 24;

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

  /** Opens (creating the directory) and reads back what an earlier attempt left. */
  open(): this {
    fs.mkdirSync(this.dir, { recursive: true });
    try {
      this.meta = JSON.parse(fs.readFileSync(this.metaPath, 'utf8')) as PartialMeta;
      const table = fs.readFileSync(this.tablePath);
      for (let i = 0; i + ENTRY <= table.length; i += ENTRY) {
        this.segments.push({ index: i / ENTRY, start: table.readDoubleLE(i), end: table.readDoubleLE(i + 8), pos: table.readDoubleLE(i + 16) });
      }
      if (!fs.existsSync(this.dataPath)) this.forget();
    } catch {
      this.forget();
    }
    this.dataFd = fs.openSync(this.dataPath, fs.existsSync(this.dataPath) ? 'r+' : 'w+');
    this.tableFd = fs.openSync(this.tablePath, fs.existsSync(this.tablePath) ? 'r+' : 'w+');
    return this;
  }

  /** Bytes already written, by the table. */
  done(): number {
    return this.segments.reduce((n, s) => n + (s.pos - s.start), 0);
  }

  /** Starts over: no meta, no segments, an empty data file. */
  reset(meta: PartialMeta): void {
    this.forget();
    if (this.dataFd !== null) fs.ftruncateSync(this.dataFd, 0);
    if (this.tableFd !== null) fs.ftruncateSync(this.tableFd, 0);
    this.setMeta(meta);
  }

  setMeta(meta: PartialMeta): void {
    this.meta = meta;
    const tmp = `${this.metaPath}.new`;
    fs.writeFileSync(tmp, JSON.stringify(meta));
    fs.renameSync(tmp, this.metaPath);
  }

  addSegment(start: number, end: number): Segment {
    const s: Segment = { index: this.segments.length, start, end, pos: start };
    this.segments.push(s);
    const b = Buffer.alloc(ENTRY);
    b.writeDoubleLE(start, 0);
    b.writeDoubleLE(end, 8);
    b.writeDoubleLE(start, 16);
    fs.writeSync(this.tableFd as number, b, 0, ENTRY, s.index * ENTRY);
    return s;
  }

  /**
   * Takes `buf` as the next bytes of the segment. They are written (one writev per MiB) and then
   * recorded in the table, so the table never claims a byte that is not in the data file.
   */
  write(s: Segment, buf: Buffer): void {
    (s.pending ??= []).push(buf);
    s.pendingBytes = (s.pendingBytes ?? 0) + buf.length;
    s.pos += buf.length;
    if (s.pendingBytes >= FLUSH_BYTES) this.flush(s);
  }

  /** Writes what the segment holds in memory, and records it. */
  flush(s: Segment): void {
    const bufs = s.pending;
    if (!bufs || bufs.length === 0) return;
    let at = s.pos - (s.pendingBytes ?? 0);
    s.pending = [];
    s.pendingBytes = 0;
    let i = 0;
    while (i < bufs.length) {
      let n = fs.writevSync(this.dataFd as number, bufs.slice(i), at);
      at += n;
      // A short write: drop what went, go on with the rest of the buffer it stopped in.
      while (i < bufs.length && n >= (bufs[i] as Buffer).length) n -= (bufs[i++] as Buffer).length;
      if (n > 0) bufs[i] = (bufs[i] as Buffer).subarray(n);
    }
    this.writeCell(s.index, 16, s.pos);
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
