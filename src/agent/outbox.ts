import fs from 'node:fs';
import path from 'node:path';
import type { CompleteItem } from '../core/reports.js';

/**
 * Outcomes written to disk before they are reported, removed once the coordinator answered: a
 * worker killed in between (SIGKILL, a power cut) delivers them at its next start, while the
 * lease may still hold, instead of the job running again elsewhere. One directory per worker
 * name (0700), one file per job (0600: a lease token is in it).
 */
export class Outbox {
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Writes the outcome (whole or not at all: a temp file renamed). Returns the error when it
   * cannot (a full disk): the outcome is reported all the same, only not kept across a crash.
   */
  put(item: CompleteItem): Error | null {
    const file = this.fileOf(item.id);
    try {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(item), { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
      return null;
    } catch (err) {
      try {
        fs.rmSync(`${file}.tmp`, { force: true });
      } catch {
        // Nothing more to do about a directory that refuses writes.
      }
      return err as Error;
    }
  }

  /** Forgets a delivered outcome; one that cannot be removed is delivered again (and answered stale) at the next start. */
  remove(id: string): void {
    try {
      fs.rmSync(this.fileOf(id), { force: true });
    } catch {
      // Left for the next start, which reports it once more: harmless, the coordinator fences it.
    }
  }

  /** The outcomes an earlier run of this worker left undelivered. */
  pending(): CompleteItem[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      try {
        return [JSON.parse(fs.readFileSync(path.join(this.dir, n), 'utf8')) as CompleteItem];
      } catch {
        // Unreadable: written by nothing this worker knows; leave it for a person to look at.
        return [];
      }
    });
  }

  private fileOf(id: string): string {
    // Job ids are the coordinator's own (letters and digits); anything else would not name a file here.
    return path.join(this.dir, `${encodeURIComponent(id)}.json`);
  }
}
