import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { FrameSink } from './batch.js';
import type { MirrorOptions, MirrorProgress, PeerSummary } from './mirror.js';
import type { Peer } from './peer.js';
import { contentHash, parseSegmentName, tombstoneOf } from './segment-name.js';
import type { SegmentTree } from './tree.js';

/** Retries a peer's request with backoff; null when it kept failing (the peer is then left). */
export type Retry = <T>(what: () => Promise<T>) => Promise<T | null>;

/** What every peer of one pass shares. */
export interface PassState {
  o: MirrorOptions;
  tree: SegmentTree;
  now: () => number;
  progress: MirrorProgress;
  /** Tells `onProgress`: at most every 500 ms, or at once with `force`. */
  progressed(force: boolean): void;
  /** Segments some peer is fetching (relative paths): settled true when it brought them. */
  inFlight: Map<string, Promise<boolean>>;
  wanted: Set<string>;
  /** Fetched in this pass, by any peer. */
  done: Set<string>;
  /** Tombstones any peer listed in this pass (relative paths). */
  tombstoned: Set<string>;
  staleTempsRemoved: number;
}

/** One peer's fetches into one hour directory. */
export interface HourFetch {
  peer: Peer;
  sum: PeerSummary;
  s: PassState;
  withRetry: Retry;
  hour: [channel: string, quality: string, hour: string];
  /** The hour directory, absolute, and relative to the tree. */
  dir: string;
  rel: string;
  concurrency: number;
}

/** A segment one peer fetches: no other peer starts it until it is settled. */
interface Claim {
  name: string;
  settle(ok: boolean): void;
}

/** Names a batch asks for at most, so that every lane of a small hour has work. */
const BATCH_NAMES = 64;

/**
 * Fetches `missing` from one peer in `concurrency` lanes: batches of names from a Drover peer
 * (batch.ts), one GET each from any other. A segment another peer has in flight is waited for,
 * and tried here only if that peer did not bring it.
 */
export async function fetchMissing(h: HourFetch, missing: string[]): Promise<void> {
  let todo = missing;
  while (todo.length > 0) {
    const busy: string[] = [];
    let next = 0;
    const per = h.peer.batchMax > 1 ? Math.max(1, Math.min(h.peer.batchMax, BATCH_NAMES, Math.ceil(todo.length / h.concurrency))) : 1;
    const take = (): Claim[] => {
      const claims: Claim[] = [];
      while (claims.length < per && next < todo.length && !stopped(h)) {
        const c = claim(h, todo[next++] as string, busy);
        if (c) claims.push(c);
      }
      return claims;
    };
    const lane = async () => {
      for (let claims = take(); claims.length > 0; claims = take()) await fetchClaims(h, claims);
    };
    await Promise.all(Array.from({ length: Math.min(h.concurrency, todo.length) }, lane));
    for (const name of busy) await h.s.inFlight.get(path.join(h.rel, name));
    todo = busy;
  }
}

function stopped(h: HourFetch): boolean {
  return h.sum.left || h.s.o.signal?.aborted === true;
}

/** Claims a segment for this peer; null when it is not wanted, done, or (then in `busy`) in flight elsewhere. */
function claim(h: HourFetch, name: string, busy: string[]): Claim | null {
  const { s } = h;
  const rel = path.join(h.rel, name);
  // A tombstone another peer brought since this hour was listed: deleted, so not wanted.
  if (s.tombstoned.has(path.join(h.rel, tombstoneOf(name)))) return null;
  s.wanted.add(rel);
  if (s.done.has(rel)) return null;
  if (s.inFlight.has(rel)) {
    busy.push(name);
    return null;
  }
  let resolve!: (ok: boolean) => void;
  const attempt = new Promise<boolean>((r) => (resolve = r));
  s.inFlight.set(rel, attempt);
  return {
    name,
    settle(ok) {
      if (s.inFlight.get(rel) === attempt) s.inFlight.delete(rel);
      resolve(ok);
    },
  };
}

/** Fetches claimed segments, retrying those not yet brought; settles every claim. */
async function fetchClaims(h: HourFetch, claims: Claim[]): Promise<void> {
  const pending = new Map(claims.map((c) => [c.name, c]));
  const finish = (name: string, ok: boolean) => {
    const c = pending.get(name);
    pending.delete(name);
    c?.settle(ok);
  };
  const sink: FrameSink = {
    segment: (name, data) => finish(name, store(h, name, data)),
    absent: (name) => {
      h.s.o.metrics?.errors.inc({ remote: h.peer.name });
      noteError(h.sum, `${h.peer.name}/segments/${h.rel}/${name}: listed but not served (HTTP 404)`);
      finish(name, false);
    },
  };
  await h.withRetry(async () => {
    const names = [...pending.keys()];
    const [only] = names;
    if (only === undefined) return;
    if (names.length > 1) return h.peer.fetchBatch(h.hour, names, sink);
    const data = await h.peer.fetch([...h.hour, only]);
    if (data === null) sink.absent(only);
    else sink.segment(only, data);
  });
  for (const c of pending.values()) c.settle(false);
}

/**
 * Checks a segment's hash and writes it: a temp file renamed into place. True when it is there.
 * Written from this thread: a segment goes to the page cache in tens of microseconds, less than
 * the thread-pool hand-offs of asynchronous open, write, close and rename would cost.
 */
function store(h: HourFetch, name: string, data: Buffer): boolean {
  const { s, sum, peer } = h;
  if (contentHash(data) !== parseSegmentName(name)?.hash) {
    sum.hashMismatches++;
    s.o.metrics?.hashMismatches.inc({ remote: peer.name });
    return false;
  }
  const [time, duration] = name.split('-');
  const temp = path.join(h.dir, `${time}-${duration}-temp-${randomUUID()}.ts`);
  try {
    fs.writeFileSync(temp, data, { flag: 'wx' });
    // Over a copy that arrived meanwhile, if any: its name says its bytes, which are these.
    fs.renameSync(temp, path.join(h.dir, name));
  } catch (err) {
    // A local failure (disk full, the hour removed meanwhile) costs this segment, not the pass.
    fs.rmSync(temp, { force: true });
    noteError(sum, `${path.join(h.rel, name)}: cannot write here: ${errorMessage(err)}`);
    return false;
  }
  s.done.add(path.join(h.rel, name));
  s.o.metrics?.backfilled.inc({ remote: peer.name, channel: h.hour[0], quality: h.hour[1], hour: h.hour[2] });
  sum.fetched++;
  sum.bytes += data.length;
  s.progress.fetched++;
  s.progress.bytes += data.length;
  s.progressed(false);
  return true;
}

/** Errors kept per peer in a summary. */
const KEPT_ERRORS = 100;

export function noteError(sum: PeerSummary, message: string): void {
  sum.errorCount++;
  if (sum.errors.length < KEPT_ERRORS) sum.errors.push(message);
}
