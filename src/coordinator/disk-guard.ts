import fs from 'node:fs';
import type { Clock } from '../core/clock.js';
import { StorageFullError } from '../core/errors.js';

/** Free space is read again at most this often, ms. */
const READ_EVERY_MS = 1_000;
const MiB = 1024 * 1024;

/** What /healthz and /metrics say of the storage. `low`: under the reserve, new jobs refused. */
export interface StorageStatus {
  dir: string;
  freeBytes: number;
  reserveBytes: number;
  state: 'ok' | 'low';
}

/**
 * Keeps new jobs off a disk that is about to fill: while the filesystem holding the SQLite
 * database has less than `reserveBytes` free, enqueues are refused with a 507 naming it, so the
 * space left goes to what must not fail (leases, reports, retention deleting old jobs). On
 * PostgreSQL the database's disk is the server's: there is no guard.
 */
export class DiskGuard {
  private readAt = -Infinity;
  private free = Infinity;

  constructor(
    private readonly dir: string,
    private readonly reserveBytes: number,
    private readonly clock: Clock,
  ) {}

  /** Null when the free space cannot be read. */
  status(): StorageStatus | null {
    const free = this.freeBytes();
    if (!Number.isFinite(free)) return null;
    return { dir: this.dir, freeBytes: free, reserveBytes: this.reserveBytes, state: free < this.reserveBytes ? 'low' : 'ok' };
  }

  /** Throws a StorageFullError when the free space is under the reserve. */
  assertRoomForJobs(): void {
    const free = this.freeBytes();
    if (free >= this.reserveBytes) return;
    throw new StorageFullError(`refusing new jobs: ${mib(free)} free on ${this.dir}, under the ${mib(this.reserveBytes)} kept in reserve (server.disk_reserve_mb); free space there (or purge finished jobs: drover purge) and enqueue again`);
  }

  /** A write failed for want of space: the next look reads the free space again. */
  forget(): void {
    this.readAt = -Infinity;
  }

  private freeBytes(): number {
    const now = this.clock.now();
    if (now - this.readAt < READ_EVERY_MS) return this.free;
    this.readAt = now;
    try {
      const s = fs.statfsSync(this.dir);
      this.free = s.bavail * s.bsize;
    } catch {
      // A directory that cannot be read is the store's to report; the guard does not guess.
      this.free = Infinity;
    }
    return this.free;
  }
}

/** Bytes in MiB with one decimal, as the guard's messages say them: `3.2 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
