import os from 'node:os';
import { Worker } from 'node:worker_threads';

type Fs = typeof import('node:fs');
type Crypto = typeof import('node:crypto');
type Threads = typeof import('node:worker_threads');

/** A request to a hashing thread. Each names a session: one file being hashed. */
export type HashRequest =
  | { t: 'open'; id: number; path: string; algorithm: string }
  | { t: 'reset'; id: number }
  | { t: 'to'; id: number; end: number }
  | { t: 'digest'; id: number; end: number }
  | { t: 'close'; id: number };

export type HashReply = { id: number; hex: string | null; error: string | null };

/**
 * The body of a hashing thread (stringified, so it needs no file of its own at run time): it
 * reads each file back from the page cache in order, up to where it is told the bytes are
 * written, and hashes them. Messages arrive in order, so a reset always follows the reads
 * it cancels.
 */
function hashThread(fs: Fs, crypto: Crypto, threads: Threads): void {
  type Session = { fd: number; h: import('node:crypto').Hash; at: number; error: string | null; algorithm: string };
  const sessions = new Map<number, Session>();
  // Read back in pieces that stay in the CPU's cache for the hash: 256 KiB took 0.9 s of CPU per
  // GiB here (read and sha256), 4 MiB 1.0-1.3 s.
  const buf = Buffer.allocUnsafe(256 * 1024);
  const port = threads.parentPort as import('node:worker_threads').MessagePort;
  const advance = (s: Session, end: number) => {
    while (s.error === null && s.at < end) {
      const n = fs.readSync(s.fd, buf, 0, Math.min(buf.length, end - s.at), s.at);
      if (n === 0) s.error = `the partial file ends at ${s.at}, before ${end}`;
      else {
        s.h.update(buf.subarray(0, n));
        s.at += n;
      }
    }
  };
  port.on('message', (m: HashRequest) => {
    const s = sessions.get(m.id);
    try {
      if (m.t === 'open') {
        // A session that cannot start still exists, so its digest gets the error.
        const session: Session = { fd: -1, h: crypto.createHash('sha256'), at: 0, error: null, algorithm: m.algorithm };
        sessions.set(m.id, session);
        session.h = crypto.createHash(m.algorithm);
        session.fd = fs.openSync(m.path, 'r');
      } else if (!s) return;
      else if (m.t === 'reset') Object.assign(s, { h: crypto.createHash(s.algorithm), at: 0, error: null });
      else if (m.t === 'to') advance(s, m.end);
      else if (m.t === 'digest') {
        advance(s, m.end);
        const error = s.error ?? (s.at === m.end ? null : `hashed ${s.at} of ${m.end} bytes`);
        port.postMessage({ id: m.id, hex: error ? null : s.h.digest('hex'), error } satisfies HashReply);
      } else if (m.t === 'close') {
        if (s.fd >= 0) fs.closeSync(s.fd);
        sessions.delete(m.id);
      }
    } catch (err) {
      const session = sessions.get(m.id);
      if (session) session.error ??= (err as Error).message;
      if (m.t === 'digest') port.postMessage({ id: m.id, hex: null, error: (err as Error).message } satisfies HashReply);
    }
  });
}

/**
 * Threads that hash downloads beside the event loop, so a fast download is not held up by
 * its checksum (sha256 of a GiB is 0.7 s of CPU here). Threads start on first use and do not
 * keep the process alive.
 */
type Thread = { w: Worker; sessions: number; dead: string | null; waiting: Map<number, (r: HashReply) => void> };

export class HashPool {
  private readonly threads: Thread[] = [];
  private nextId = 1;

  /** `size` threads at most; default: one per core, at most 4. */
  constructor(private readonly size = Math.max(1, Math.min(4, os.availableParallelism()))) {}

  /** Starts hashing `path` with `algorithm`; returns the session's sender. */
  open(path: string, algorithm: string): HashSession {
    const t = this.pick();
    const id = this.nextId++;
    t.sessions++;
    t.w.postMessage({ t: 'open', id, path, algorithm } satisfies HashRequest);
    return new HashSession(id, (m) => t.w.postMessage(m), (end) => this.ask(t, id, end), () => t.sessions--);
  }

  private pick(): Thread {
    const idle = this.threads.find((t) => t.sessions === 0);
    if (idle || this.threads.length >= this.size) return idle ?? this.threads.reduce((a, b) => (b.sessions < a.sessions ? b : a));
    const w = new Worker(`(${hashThread.toString()})(require('node:fs'), require('node:crypto'), require('node:worker_threads'))`, { eval: true });
    w.unref();
    const t: Thread = { w, sessions: 0, dead: null, waiting: new Map() };
    w.on('message', (r: HashReply) => {
      t.waiting.get(r.id)?.(r);
      t.waiting.delete(r.id);
    });
    // A thread that dies takes its sessions with it: their digests fail (the download is retried),
    // and new sessions go to a new thread.
    const die = (why: string) => {
      if (t.dead) return;
      t.dead = why;
      this.threads.splice(this.threads.indexOf(t), 1);
      for (const [id, done] of t.waiting) done({ id, hex: null, error: why });
      t.waiting.clear();
    };
    w.on('error', (err) => die(`hashing thread failed: ${err.message}`));
    w.on('exit', (code) => die(`hashing thread exited (${code})`));
    this.threads.push(t);
    return t;
  }

  private ask(t: Thread, id: number, end: number): Promise<HashReply> {
    if (t.dead) return Promise.resolve({ id, hex: null, error: t.dead });
    return new Promise((resolve) => {
      t.waiting.set(id, resolve);
      t.w.postMessage({ t: 'digest', id, end } satisfies HashRequest);
    });
  }
}

/** One file's hashing, as the download sees it. */
export class HashSession {
  private closed = false;

  constructor(
    private readonly id: number,
    private readonly send: (m: HashRequest) => void,
    private readonly ask: (end: number) => Promise<HashReply>,
    private readonly onClose: () => void,
  ) {}

  /** Bytes [0, end) are in the file: hash up to there. */
  to(end: number): void {
    this.send({ t: 'to', id: this.id, end });
  }

  /** The file starts over from byte 0. */
  reset(): void {
    this.send({ t: 'reset', id: this.id });
  }

  /** The digest of [0, end), in hex. */
  async digest(end: number): Promise<string> {
    const r = await this.ask(end);
    if (r.error !== null || r.hex === null) throw new Error(`checksum: ${r.error ?? 'no digest'}`);
    return r.hex;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.send({ t: 'close', id: this.id });
    this.onClose();
  }
}
