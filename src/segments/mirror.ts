import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { delay } from '../core/long-timeout.js';
import type { MirrorMetrics } from './metrics.js';
import { fetchMissing, noteError, type PassState, type Retry } from './hour-fetch.js';
import { Peer, PeerError } from './peer.js';
import { hourOf, hourStart, parseSegmentName, segmentOfTombstone, tombstoneOf } from './segment-name.js';
import { SegmentTree } from './tree.js';

/** What one pass mirrors, from where, and how. */
export interface MirrorOptions {
  /** The local tree's root. */
  base: string;
  /** Peers' segment server URLs (may carry `user:TOKEN@`). */
  from: string[];
  /** Sent as a bearer token to peers whose URL carries no credentials (a worker's token, for its fellow nodes). */
  token?: string;
  /** PEM certificates trusted for https:// peers besides Node's (the worker's `ca_file`). */
  ca?: string;
  channels: string[];
  qualities: string[];
  /** 'all' (every hour a peer lists), the last N hours, or these hours. Default 'all'. */
  hours?: 'all' | number | string[];
  /** Hours that start before this (ms since the epoch) are left out. */
  start?: number;
  /** Order of a hour's missing segments. Default random, so that nodes do not fetch the same one at once. */
  order?: 'random' | 'forward' | 'reverse';
  /** Segments that started less than this long ago are left to the live recorder, ms. Default 120000. */
  recentCutoffMs?: number;
  /** Fetches at once from each peer. Default 8. */
  concurrency?: number;
  /** First wait after a peer's failure, ms, doubled up to 4 times (jittered). Default 5000. */
  backoffMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  /** Told at most every 500 ms while segments arrive, and after each hour. */
  onProgress?: (p: MirrorProgress) => void;
  /** Counted here as well: segments kept, hash mismatches, errors. */
  metrics?: MirrorMetrics;
}

export interface MirrorProgress {
  hoursDone: number;
  hoursTotal: number;
  fetched: number;
  bytes: number;
}

/** One peer's part of a pass. */
export interface PeerSummary {
  peer: string;
  /** Every listing it was asked for answered. */
  listed: boolean;
  hours: number;
  /** Segments it had that were missing here (after the cut-off and tombstones). */
  missing: number;
  fetched: number;
  bytes: number;
  hashMismatches: number;
  tombstones: number;
  /** Names it listed that are not segment names (skipped). */
  invalid: number;
  /** It kept failing and was left for the rest of the pass. */
  left: boolean;
  /** The first errors (at most 100); `errorCount` counts them all. */
  errors: string[];
  errorCount: number;
}

export interface MirrorSummary {
  peers: PeerSummary[];
  /** Wanted segments still missing at the end: none when the pass is complete. */
  stillMissing: string[];
  /** Temp segments over an hour old (left by a crash) removed from the hours visited. */
  staleTempsRemoved: number;
  ok: boolean;
}

export const MIRROR_DEFAULTS = { concurrency: 8, recentCutoffMs: 120_000, backoffMs: 5_000, order: 'random' } as const;
/** Progress is told at most this often while segments arrive, ms (and at the end of each hour). */
const PROGRESS_MS = 500;
/** Retries of a peer's request after the first failure (5 s, 10 s, 20 s, 40 s, 80 s). */
const RETRIES = 4;

/** One mirror pass: every peer in parallel, each channel × quality, hours newest first. */
export async function mirrorPass(o: MirrorOptions): Promise<MirrorSummary> {
  const tree = new SegmentTree(path.resolve(o.base));
  const now = o.now ?? Date.now;
  const progress = { hoursDone: 0, hoursTotal: 0, fetched: 0, bytes: 0 };
  // One fetch of a segment at a time across peers; a failed one lets the next peer try.
  const inFlight = new Map<string, Promise<boolean>>();
  const wanted = new Set<string>();
  const peers = o.from.map((u) => new Peer(u, o.concurrency ?? MIRROR_DEFAULTS.concurrency, o.token, o.ca));
  try {
    let reported = -Infinity;
    const progressed = (force: boolean) => {
      const t = performance.now();
      if (!o.onProgress || (!force && t - reported < PROGRESS_MS)) return;
      reported = t;
      o.onProgress({ ...progress });
    };
    const state: PassState = { o, tree, now, progress, progressed, inFlight, wanted, done: new Set(), tombstoned: new Set(), staleTempsRemoved: 0 };
    const summaries = await Promise.all(peers.map((peer) => mirrorPeer(peer, state)));
    const stillMissing: string[] = [];
    for (const rel of wanted) {
      const deleted = state.tombstoned.has(`${rel.slice(0, -3)}.tombstone`);
      if (!deleted && !state.done.has(rel) && !(await exists(path.join(tree.base, rel)))) stillMissing.push(rel);
    }
    stillMissing.sort();
    return { peers: summaries, stillMissing, staleTempsRemoved: state.staleTempsRemoved, ok: stillMissing.length === 0 && summaries.every((s) => s.listed) };
  } finally {
    // Nothing is awaited any more; a listing asked ahead for a peer that was left goes too.
    await Promise.all(peers.map((p) => p.destroy()));
  }
}

async function mirrorPeer(peer: Peer, s: PassState): Promise<PeerSummary> {
  const sum: PeerSummary = { peer: peer.name, listed: true, left: false, hours: 0, missing: 0, fetched: 0, bytes: 0, hashMismatches: 0, tombstones: 0, invalid: 0, errors: [], errorCount: 0 };
  const { o } = s;
  /**
   * A request with its own backoff (5 s × 2^n, jittered); null when it kept failing, or got an
   * answer no retry changes (401, 404...), and then the peer is left for the rest of this pass:
   * every lane's next request gives up at once.
   */
  const withRetry = async <T>(what: () => Promise<T>): Promise<T | null> => {
    for (let failures = 0; ; failures++) {
      if (o.signal?.aborted || sum.left) return null;
      try {
        return await what();
      } catch (err) {
        o.metrics?.errors.inc({ remote: peer.name });
        if (!(err instanceof PeerError) || !err.retryable || failures >= RETRIES) {
          noteError(sum, errorMessage(err));
          sum.left = true;
          return null;
        }
        const wait = (o.backoffMs ?? MIRROR_DEFAULTS.backoffMs) * 2 ** failures * (0.5 + Math.random());
        // Any length: the backoff comes from the config.
        await delay(wait, o.signal).catch(() => undefined);
      }
    }
  };
  const hours: Array<[string, string, string]> = [];
  for (const channel of o.channels) {
    for (const quality of o.qualities) {
      const listed = await hoursToMirror(peer, channel, quality, s, withRetry);
      if (listed === null) {
        sum.listed = false;
        return sum;
      }
      hours.push(...listed.map((h): [string, string, string] => [channel, quality, h]));
    }
  }
  s.progress.hoursTotal += hours.length;
  // The next hour's listing is asked for while this one's segments are fetched; only its first
  // try: a failure shows when it is used, and retries go as for any request.
  const ask = (h: [string, string, string] | undefined) => {
    const p = h ? peer.list(...h) : undefined;
    p?.catch(() => undefined);
    return p;
  };
  let ahead = ask(hours[0]);
  for (let i = 0; i < hours.length; i++) {
    if (sum.left) return sum;
    const h = hours[i] as [string, string, string];
    let first = ahead;
    const listed = await withRetry(() => {
      const p = first ?? peer.list(...h);
      first = undefined;
      return p;
    });
    if (listed === null) {
      // A listing that failed deletes nothing and fetches nothing: the peer is left for this pass.
      sum.listed = false;
      return sum;
    }
    ahead = ask(hours[i + 1]);
    await mirrorHour(peer, ...h, listed, s, sum, withRetry);
    sum.hours++;
    s.progress.hoursDone++;
    s.progressed(true);
  }
  return sum;
}

async function hoursToMirror(peer: Peer, channel: string, quality: string, s: PassState, withRetry: Retry): Promise<string[] | null> {
  const want = s.o.hours ?? 'all';
  let hours: string[];
  if (want === 'all') {
    const listed = await withRetry(() => peer.list(channel, quality));
    if (listed === null) return null;
    hours = listed;
  } else if (typeof want === 'number') {
    hours = Array.from({ length: want }, (_, i) => hourOf(s.now() - i * 3_600_000));
  } else hours = want;
  return [...new Set(hours)]
    .filter((h) => {
      const t = hourStart(h);
      return t !== null && (s.o.start === undefined || t + 3_600_000 > s.o.start);
    })
    .sort()
    .reverse();
}

async function mirrorHour(peer: Peer, channel: string, quality: string, hour: string, remote: string[], s: PassState, sum: PeerSummary, withRetry: Retry): Promise<void> {
  const dir = s.tree.hourDir(channel, quality, hour);
  const local = await s.tree.hour(channel, quality, hour);
  removeStaleTemps(dir, local.other, s);
  const localTombstones = new Set(local.tombstones);
  const have = new Set(local.segments);
  // Two nodes cut the same segment with timestamps a little apart: the same hash within 1 ms is the same segment.
  const byHash = new Map<string, number[]>();
  for (const n of local.segments) {
    const p = parseSegmentName(n);
    if (p?.hash) byHash.set(p.hash, [...(byHash.get(p.hash) ?? []), p.offsetMs]);
  }
  const hourMs = hourStart(hour) as number;
  const remoteTombstones = new Set<string>();
  for (const n of remote) {
    if (!n.endsWith('.tombstone')) continue;
    if (segmentOfTombstone(n) !== null) remoteTombstones.add(n);
    else sum.invalid++;
  }
  for (const t of remoteTombstones) {
    s.tombstoned.add(path.join(channel, quality, hour, t));
    if (localTombstones.has(t)) continue;
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, t), '', { flag: 'a' });
    localTombstones.add(t);
    sum.tombstones++;
  }
  const missing: string[] = [];
  for (const n of remote) {
    if (n.endsWith('.tombstone')) continue;
    const p = parseSegmentName(n);
    if (p === null) {
      if (!n.endsWith('.json')) sum.invalid++;
      continue;
    }
    if (p.type === 'temp' || have.has(n) || localTombstones.has(tombstoneOf(n))) continue;
    if (p.hash !== null && (byHash.get(p.hash) ?? []).some((ms) => Math.abs(ms - p.offsetMs) <= 1)) continue;
    if (s.now() - (hourMs + p.offsetMs) < (s.o.recentCutoffMs ?? MIRROR_DEFAULTS.recentCutoffMs)) continue;
    missing.push(n);
  }
  order(missing, s.o.order ?? MIRROR_DEFAULTS.order);
  sum.missing += missing.length;
  if (missing.length === 0) return;
  await fs.mkdir(dir, { recursive: true });
  await fetchMissing({ peer, sum, s, withRetry, hour: [channel, quality, hour], dir, rel: path.join(channel, quality, hour), concurrency: s.o.concurrency ?? MIRROR_DEFAULTS.concurrency }, missing);
}

/** A temp segment is written in seconds and renamed: one over an hour old was left by a crash. */
const STALE_TEMP_MS = 3_600_000;

function removeStaleTemps(dir: string, names: string[], s: PassState): void {
  for (const n of names) {
    if (parseSegmentName(n)?.type !== 'temp') continue;
    const file = path.join(dir, n);
    try {
      if (s.now() - fsSync.statSync(file).mtimeMs < STALE_TEMP_MS) continue;
      fsSync.unlinkSync(file);
      s.staleTempsRemoved++;
    } catch {
      // Renamed or removed meanwhile (by its writer, or another peer's visit of this hour).
    }
  }
}

function order(names: string[], how: 'random' | 'forward' | 'reverse'): void {
  if (how === 'forward') names.sort();
  else if (how === 'reverse') names.sort().reverse();
  else {
    for (let i = names.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [names[i], names[j]] = [names[j] as string, names[i] as string];
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
