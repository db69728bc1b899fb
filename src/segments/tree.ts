import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseSegmentName, segmentOfTombstone, tombstoneOf } from './segment-name.js';

/** The longest path part, bytes: NAME_MAX of Linux filesystems. A longer one is no file here, only ENAMETOOLONG. */
export const MAX_PART_BYTES = 255;

/** A path part a peer may name: not hidden (which also rules out `..`), no separator, no control characters, at most MAX_PART_BYTES. */
export function isPathPart(p: string): boolean {
  return p.length > 0 && !p.startsWith('.') && !/[/\\\u0000-\u001f\u007f]/.test(p) && Buffer.byteLength(p) <= MAX_PART_BYTES;
}

/** The names in a directory, hidden ones left out, sorted; [] when it does not exist. */
async function visibleNames(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

/** What an hour directory holds, as a mirror sees it. */
export interface HourListing {
  /** Segment names (`.ts`) that are not temp and have no tombstone, sorted. */
  segments: string[];
  /** Tombstone names, sorted. */
  tombstones: string[];
  /** Other visible names (chat `.json`, unparseable names, temp segments). */
  other: string[];
}

/**
 * A segment tree on disk, `base/CHANNEL/QUALITY/HOUR/NAME`, listed as wubloader's restreamer lists
 * it, but sorted, without temp segments and without segments that have a tombstone.
 */
export class SegmentTree {
  constructor(readonly base: string) {}

  channels(): Promise<string[]> {
    return visibleNames(this.base);
  }

  qualities(channel: string): Promise<string[]> {
    return visibleNames(path.join(this.base, channel));
  }

  hours(channel: string, quality: string): Promise<string[]> {
    return visibleNames(path.join(this.base, channel, quality));
  }

  hourDir(channel: string, quality: string, hour: string): string {
    return path.join(this.base, channel, quality, hour);
  }

  async hour(channel: string, quality: string, hour: string): Promise<HourListing> {
    const names = await visibleNames(this.hourDir(channel, quality, hour));
    const tombstoned = new Set<string>();
    const tombstones: string[] = [];
    for (const n of names) {
      const s = segmentOfTombstone(n);
      if (s !== null) {
        tombstoned.add(s);
        tombstones.push(n);
      }
    }
    const segments: string[] = [];
    const other: string[] = [];
    const isTombstone = new Set(tombstones);
    for (const n of names) {
      if (isTombstone.has(n)) continue;
      const p = parseSegmentName(n);
      if (p !== null && p.type !== 'temp') {
        if (!tombstoned.has(n)) segments.push(n);
      } else other.push(n);
    }
    return { segments, tombstones, other };
  }

  /** What `/files/CH/Q/HOUR` answers: segments and chat files, and with `tombstones` the tombstones, sorted. */
  async listing(channel: string, quality: string, hour: string, withTombstones: boolean): Promise<string[]> {
    const h = await this.hour(channel, quality, hour);
    const chat = h.other.filter((n) => n.endsWith('.json'));
    return [...h.segments, ...chat, ...(withTombstones ? h.tombstones : [])].sort();
  }

  /**
   * Whether a file may be served: a segment that parses, is not temp and has no tombstone, a
   * tombstone, or a chat file. A blocking
   * check: a stat from the inode cache is cheaper than a thread-pool hand-off.
   */
  servable(channel: string, quality: string, hour: string, name: string): boolean {
    // Chat files, and tombstones (empty), as the restreamer serves them.
    if (name.endsWith('.json') || segmentOfTombstone(name) !== null) return true;
    const p = parseSegmentName(name);
    if (p === null || p.type === 'temp') return false;
    return !fsSync.existsSync(path.join(this.hourDir(channel, quality, hour), tombstoneOf(name)));
  }
}
