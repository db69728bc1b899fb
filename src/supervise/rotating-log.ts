import fs from 'node:fs';
import path from 'node:path';

/** How a log rotates (see RotatingLogOptions). */
export interface Rotation {
  /** `days`: a new file every `days` days; `size`: when the next line would pass `maxBytes`. */
  mode?: 'days' | 'size';
  /** Days between rotations in `days` mode. Default 1 (FF WRAPPER's LOG_ROTATION_DAYS). */
  days?: number;
  /** Largest file in `size` mode, bytes. Default 25,000 KiB (FF WRAPPER's LOG_ROTATION_MAX_KBYTES). */
  maxBytes?: number;
  /** Backups kept; older ones are deleted. 0 keeps none. Default 5 (LOG_ROTATION_BACKUP). */
  backups?: number;
}

/** Job logs rotate by size unless told otherwise; `drover run` starts from FF WRAPPER's `days`. */
export const ROTATION_DEFAULTS: Required<Rotation> = { mode: 'size', days: 1, maxBytes: 25_000 * 1024, backups: 5 };

export interface RotatingLogOptions extends Rotation {
  /** The live file; backups are FILE.1 (newest) to FILE.N. Its directory is created. */
  file: string;
  mode: 'days' | 'size';
  /** ms; injected so tests control time. Default Date.now. */
  clock?: () => number;
}

const DAY_MS = 24 * 3600_000;

/**
 * Opens `file` (directory created) as a rotating log, by size unless `rotation` says otherwise.
 * An Error naming the file when it cannot be opened.
 */
export function openRotatingLog(file: string, rotation: Rotation | undefined): RotatingLog {
  try {
    return new RotatingLog({ file, ...ROTATION_DEFAULTS, ...rotation });
  } catch (err) {
    throw new Error(`cannot open log file ${file}: ${(err as Error).message}`);
  }
}

/**
 * A log file that rotates by age or by size and keeps a fixed number of backups, so a process
 * that runs for months never fills the disk (pm2's most repeated complaint). `rotate()` forces
 * a rotation (SIGHUP). Lines are written at once, unbuffered: a crash loses none.
 */
export class RotatingLog {
  /** -1 once closed, or after a write error until the next rotation. */
  private fd: number;
  private closed = false;
  private size: number;
  private nextAt: number;
  private readonly days: number;
  private readonly maxBytes: number;
  private readonly backups: number;
  private readonly clock: () => number;

  constructor(private readonly o: RotatingLogOptions) {
    this.days = o.days ?? ROTATION_DEFAULTS.days;
    this.maxBytes = o.maxBytes ?? ROTATION_DEFAULTS.maxBytes;
    this.backups = o.backups ?? ROTATION_DEFAULTS.backups;
    this.clock = o.clock ?? Date.now;
    if (!(this.days > 0)) throw new RangeError(`log rotation days must be more than 0, got ${this.days}`);
    if (!(this.maxBytes > 0)) throw new RangeError(`log rotation size must be more than 0 bytes, got ${this.maxBytes}`);
    if (!Number.isInteger(this.backups) || this.backups < 0) throw new RangeError(`log backups must be a whole number of 0 or more, got ${this.backups}`);
    // Logs may hold what a command printed of its credentials: its owner's only.
    fs.mkdirSync(path.dirname(o.file), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(o.file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
    this.nextAt = this.clock() + this.days * DAY_MS;
  }

  /**
   * Appends one line (a newline is added). After a write error (a full disk must not stop the
   * process it logs) lines are dropped until the next rotation opens the file again.
   */
  line(text: string): void {
    if (this.fd < 0) return;
    const buf = Buffer.from(`${text}\n`);
    try {
      if (this.o.mode === 'days' ? this.clock() >= this.nextAt : this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate();
      fs.writeSync(this.fd, buf);
      this.size += buf.length;
    } catch {
      this.drop();
    }
  }

  /** Starts a new file now: FILE becomes FILE.1, FILE.1 becomes FILE.2, ... and the oldest goes. */
  rotate(): void {
    if (this.closed) return;
    this.drop();
    const f = this.o.file;
    fs.rmSync(`${f}.${this.backups}`, { force: true });
    for (let i = this.backups - 1; i >= 1; i--) if (fs.existsSync(`${f}.${i}`)) fs.renameSync(`${f}.${i}`, `${f}.${i + 1}`);
    // The live file may have been deleted by hand: then there is nothing to keep.
    if (this.backups > 0 && fs.existsSync(f)) fs.renameSync(f, `${f}.1`);
    else fs.rmSync(f, { force: true });
    this.fd = fs.openSync(f, 'a', 0o600);
    this.size = 0;
    this.nextAt = this.clock() + this.days * DAY_MS;
  }

  /** Closes the file; later lines are dropped. Safe to call twice. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private drop(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already gone; nothing to keep.
    }
    this.fd = -1;
  }
}
