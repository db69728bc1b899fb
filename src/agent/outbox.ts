import fs from 'node:fs';
import path from 'node:path';
import type { CompleteItem } from '../core/reports.js';

/** The log's name in the outbox directory. */
const LOG = 'outbox.jsonl';
/** Lines written before the log is rewritten with only what is still pending. */
const COMPACT_EVERY = 4_096;

type Line = { put: CompleteItem } | { done: string };

/**
 * Outcomes written to disk before they are reported, forgotten once the coordinator answered: a
 * worker killed in between (SIGKILL, a power cut) delivers them at its next start, while the
 * lease may still hold, instead of the job running again elsewhere. One directory per worker
 * name (0700) holding one append-only log (0600: lease tokens are in it): a line per outcome
 * and one per delivery, rewritten with what is pending as it grows. One write to an open
 * file per outcome: a file made, renamed and removed per job cost 0.4 to 0.8 ms of this VM's disk
 * each, on the worker's only thread, which capped a worker at some 1,500 jobs a second.
 */
export class Outbox {
  private readonly file: string;
  private fd: number | null = null;
  private readonly waiting = new Map<string, CompleteItem>();
  /** Files of the one-file-per-outcome layout of earlier versions, by job id. */
  private readonly legacy = new Map<string, string>();
  private lines = 0;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, LOG);
    for (const item of readLog(this.file)) this.waiting.set(item.id, item);
    for (const [id, file] of legacyFiles(dir)) {
      const item = readJson(file);
      if (item && !this.waiting.has(id)) {
        this.waiting.set(id, item);
        this.legacy.set(id, file);
      }
    }
  }

  /**
   * Writes the outcome (a torn last line is skipped when read back). Returns the error when it
   * cannot (a full disk): the outcome is reported all the same, only not kept across a crash.
   */
  put(item: CompleteItem): Error | null {
    this.waiting.set(item.id, item);
    return this.append({ put: item });
  }

  /** Forgets a delivered outcome; one that cannot be forgotten is delivered again (and answered stale) at the next start. */
  remove(id: string): void {
    if (!this.waiting.delete(id)) return;
    const file = this.legacy.get(id);
    if (file !== undefined) {
      this.legacy.delete(id);
      fs.rmSync(file, { force: true });
      return;
    }
    this.append({ done: id });
  }

  /** The outcomes an earlier run of this worker left undelivered (and those put since). */
  pending(): CompleteItem[] {
    return [...this.waiting.values()];
  }

  /** What an outbox directory holds undelivered, read without writing to it. */
  static pendingIn(dir: string): CompleteItem[] {
    const ids = new Set<string>();
    const out = readLog(path.join(dir, LOG));
    for (const item of out) ids.add(item.id);
    for (const [id, file] of legacyFiles(dir)) {
      const item = ids.has(id) ? null : readJson(file);
      if (item) out.push(item);
    }
    return out;
  }

  private append(line: Line): Error | null {
    try {
      // Amortised: at least 4,096 lines and four times what is pending, so a worker holding
      // thousands of jobs does not rewrite them all every few thousand lines.
      if (this.lines >= COMPACT_EVERY && this.lines >= 4 * this.waiting.size) this.compact();
      this.fd ??= fs.openSync(this.file, 'a', 0o600);
      fs.writeSync(this.fd, `${JSON.stringify(line)}\n`);
      this.lines++;
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  /** Rewrites the log with the pending outcomes only: emptied in place when none are, else a temp file renamed over it. */
  private compact(): void {
    const kept = [...this.waiting.values()].filter((i) => !this.legacy.has(i.id));
    if (kept.length === 0 && this.fd !== null) {
      fs.ftruncateSync(this.fd, 0);
      this.lines = 0;
      return;
    }
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, kept.map((put) => `${JSON.stringify({ put })}\n`).join(''), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.lines = kept.length;
  }
}

/** The outcomes a log holds undelivered, in the order they were put. */
function readLog(file: string): CompleteItem[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out = new Map<string, CompleteItem>();
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    try {
      const line = JSON.parse(raw) as Line;
      if ('put' in line) out.set(line.put.id, line.put);
      else out.delete(line.done);
    } catch {
      // A line cut short by a crash mid-write: its outcome was not kept, and is reported again by the coordinator's lease rules.
    }
  }
  return [...out.values()];
}

/** `ID.json` files of earlier versions. */
function legacyFiles(dir: string): Array<[string, string]> {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => [decodeURIComponent(n.slice(0, -'.json'.length)), path.join(dir, n)]);
  } catch {
    return [];
  }
}

function readJson(file: string): CompleteItem | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CompleteItem;
  } catch {
    // Unreadable: written by nothing this worker knows; leave it for a person to look at.
    return null;
  }
}
