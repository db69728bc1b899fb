import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { plural } from '../../core/plural.js';
import type { RunContext, RunResult, Runner } from '../runner.js';
import { safeDestinationDir } from '../shared/destination.js';
import { stoppedResult } from '../shared/stop-result.js';
import { ClipError, downloadClip, fileSha256 } from './clip-download.js';
import { deviceZone, offsetOf, type Zone } from './device-clock.js';
import { IsapiAuthError, IsapiClient, IsapiNetError } from './isapi-client.js';
import { IsapiError, type SearchMatch } from './isapi-xml.js';
import { isPhotoTrack, parseHikvisionParams, photoTrackOf, type HikvisionParams } from './params.js';
import { clipPath, searchSpan } from './plan.js';
import type { HikvisionSettings } from './settings.js';
import { childSpec, splitParts } from './split.js';

/** At most this many child jobs from one split (the coordinator's own bound). */
const MAX_SPLIT = 10_000;

/** A clip delivered, as the job's result lists it. */
interface FileEntry {
  /** Below the destination directory. */
  file: string;
  track: string;
  start: string;
  end: string;
  size: number;
  sha256: string;
  /** It was there already, at the right size (`skip_existing`). */
  skipped?: true;
}

/** Failed clips kept in the result (the count is kept whole). */
const RESULT_FAILED = 100;

/**
 * The `hikvision` kind: every recording of the asked cameras and span from one NVR, over ISAPI,
 * into a destination, each clip checked whole (clip-download.ts); up to `perDevice` at once.
 */
export class HikvisionRunner implements Runner {
  readonly kind = 'hikvision';

  constructor(private readonly s: HikvisionSettings) {}

  async run(ctx: RunContext): Promise<RunResult> {
    let p: HikvisionParams;
    try {
      p = parseHikvisionParams(ctx.job.params);
      // Before the device is asked anything; each clip's folder is checked again (clipTarget).
      safeDestinationDir(this.s.destinations, p.dest, { create: false });
    } catch (err) {
      if (err instanceof ValidationError) return { outcome: 'failed', error: err.message, retryable: false };
      throw err;
    }
    const client = new IsapiClient({ server: p.server, user: p.user, password: p.password, connectTimeoutMs: this.s.connectTimeoutMs, readTimeoutMs: this.s.readTimeoutMs, connections: this.s.perDevice, signal: ctx.signal });
    try {
      return await this.fetchAll(ctx, p, client);
    } catch (err) {
      if (ctx.signal.aborted) return stoppedResult(ctx.signal.reason, `${client.name}: stopped`);
      if (err instanceof IsapiAuthError) return { outcome: 'failed', error: err.message, retryable: false };
      // A clip's folder that leads out of the destination (a symbolic link there): no attempt fixes it.
      if (err instanceof ValidationError) return { outcome: 'failed', error: `${client.name}: ${err.message}`, retryable: false };
      if (err instanceof IsapiNetError || err instanceof IsapiError) return { outcome: 'failed', error: err instanceof IsapiError ? `${client.name}: ${err.message}` : err.message, retryable: true };
      // A local failure (a full disk, a directory where a clip belongs): the clips so far stay.
      if (typeof (err as NodeJS.ErrnoException).code === 'string') return { outcome: 'failed', error: `${client.name}: cannot write into the destination: ${(err as Error).message}`, retryable: true };
      throw err;
    } finally {
      client.close();
    }
  }

  /**
   * Where a clip (`file`, relative to the job's dest) goes, its folder created: checked as the
   * dest itself is, so that a symbolic link below the destination (where the device's or a
   * camera's folder belongs) cannot take clips out of it. A ValidationError naming the dest.
   */
  private clipTarget(p: HikvisionParams, file: string): string {
    const subdir = path.posix.join(p.dest.subdir, path.dirname(file));
    const name = path.basename(file);
    return path.join(safeDestinationDir(this.s.destinations, { name: p.dest.name, subdir }, { create: true, name }), name);
  }

  private async fetchAll(ctx: RunContext, p: HikvisionParams, client: IsapiClient): Promise<RunResult> {
    const log = (text: string) => ctx.log('drover', `${text}\n`);
    const info = await client.deviceInfo();
    log(`${client.name}: ${info.model || 'device'} ${info.serial} (${info.firmware})`);
    const clock = await client.time();
    const ours = Date.now();
    const { zone, known } = deviceZone(clock, ours);
    if (!known) log(`${client.name}: its clock (${clock.localTime}, zone "${clock.timeZone}") tells no time zone; taking UTC`);
    const off = zone(ours);
    // The device's own now: what its recordings' times are counted against.
    const now = offsetOf(clock.localTime) !== null ? Date.parse(clock.localTime) : Date.parse(`${clock.localTime}Z`) - off * 60_000;
    let tracks: string[];
    if (p.cameras === 'all') {
      try {
        tracks = await client.channels();
      } catch (err) {
        if (!(err instanceof IsapiError)) throw err;
        return { outcome: 'failed', error: `${client.name}: the device will not list its channels (${err.statusString ?? err.message}); give cameras, e.g. cameras=101,201`, retryable: false };
      }
      if (tracks.length === 0) return { outcome: 'failed', error: `${client.name}: the device lists no channels; give cameras, e.g. cameras=101,201`, retryable: false };
    } else tracks = p.cameras;
    const span = searchSpan(p.span, Number.isFinite(now) ? now : ours, zone);
    const utc = `UTC; the device is at UTC${off >= 0 ? '+' : '-'}${Math.floor(Math.abs(off) / 60)}${Math.abs(off) % 60 ? `:${String(Math.abs(off) % 60).padStart(2, '0')}` : ''}`;
    if (p.split !== null) {
      // A child fetches its camera's pictures when `photos` says so.
      const parts = splitParts(p.split, tracks, span, zone);
      const days = p.split === 'camera-day' ? parts.length / Math.max(1, new Set(parts.map((x) => x.track)).size) : 1;
      if (parts.length > MAX_SPLIT) return { outcome: 'failed', error: `split: ${p.split} makes ${parts.length} jobs (${plural(parts.length / days, 'camera')} × ${plural(days, 'day')}), at most ${MAX_SPLIT}; split by camera or ask for fewer days`, retryable: false };
      log(`${client.name}: split into ${plural(parts.length, 'job')}, one per camera${p.split === 'camera-day' ? ` and day (${plural(days, 'day')})` : ''}: ${[...new Set(parts.map((x) => x.track))].join(',')} from ${span.start} to ${span.end} (${utc})`);
      return { outcome: 'succeeded', result: { device: { server: client.name, ...info, offsetMinutes: off }, span, split: p.split, jobs: parts.length }, children: parts.map((x) => childSpec(ctx.job, x)) };
    }
    if (p.photos) tracks = [...tracks, ...tracks.filter((t) => !isPhotoTrack(t)).map(photoTrackOf)];
    log(`${client.name}: searching tracks ${tracks.join(',')} from ${span.start} to ${span.end} (${utc})`);
    const matched = await client.search(tracks, span.start, span.end);
    if (p.cameras !== 'all') {
      const missing = await unknownCameras(client, p.cameras, matched);
      if (missing) return { outcome: 'failed', error: missing, retryable: false };
    }
    // A clip across the span's start belongs to the span before it (the days of a split after its first).
    const found = p.clips === 'starting' ? matched.filter((m) => Date.parse(m.start) >= Date.parse(span.start)) : matched;
    const cutoff = (Number.isFinite(now) ? now : ours) - this.s.marginMs;
    const ready = found.filter((m) => Date.parse(m.end) <= cutoff);
    const left = found.length - ready.length;
    if (left > 0) log(`${client.name}: ${plural(left, 'clip')} ${left === 1 ? 'ends' : 'end'} within ${this.s.marginMs / 1000} s of the device's now; left for the next run`);

    const plan = planFiles(ready, p, zone, client.name);
    const files: FileEntry[] = [];
    const failed: Array<{ clip: string; error: string }> = [];
    let done = 0;
    let skipped = 0;
    let bytes = 0;
    const t0 = performance.now();
    const current = new Set<string>();
    const report = () => {
      const secs = (performance.now() - t0) / 1000;
      ctx.progress({
        percent: plan.length > 0 ? Math.round((1000 * done) / plan.length) / 10 : 100,
        bytes,
        speed: secs > 0 ? Math.round(bytes / secs) : 0,
        message: `clips ${done}/${plan.length}${current.size > 0 ? `, now ${[...current].join(', ')}` : ''}`,
        clipsDone: done,
        clipsTotal: plan.length,
      });
    };
    let next = 0;
    // The lanes stop together: a fatal error (a refused password, a disk error) or a stop from
    // outside ends every lane's clip before the job returns, so nothing runs on after it.
    const halt = new AbortController();
    const signal = AbortSignal.any([ctx.signal, halt.signal]);
    let fatal: unknown = null;
    const lane = async () => {
      while (next < plan.length && !signal.aborted) {
        const { m, file } = plan[next++] as (typeof plan)[number];
        let target: string;
        try {
          target = this.clipTarget(p, file);
        } catch (err) {
          fatal ??= err;
          halt.abort();
          return;
        }
        const entry = { file, track: m.trackId, start: m.start, end: m.end };
        const existing = p.skipExisting ? sizeOf(target) : null;
        // As the download accepts it: at least the size the device announces (any, when it announces none).
        if (existing !== null && existing > 0 && (m.size === null || existing >= m.size)) {
          files.push({ ...entry, size: existing, sha256: await fileSha256(target), skipped: true });
          skipped++;
        } else {
          current.add(file);
          report();
          try {
            const onRetry = (error: string, next: number) => log(`${client.name}: ${file}: ${error}; try ${next} of ${this.s.retries + 1}`);
            const got = await downloadClip(client, m, target, { retries: this.s.retries, backoffMs: this.s.backoffMs, signal, onBytes: (n) => (bytes += n), onRetry });
            files.push({ ...entry, ...got });
          } catch (err) {
            if (signal.aborted) return;
            if (!(err instanceof ClipError)) {
              fatal ??= err;
              halt.abort();
              return;
            }
            failed.push({ clip: file, error: err.message });
            log(`${client.name}: ${file}: ${err.message}`);
          } finally {
            current.delete(file);
          }
        }
        done++;
        report();
      }
    };
    report();
    await Promise.allSettled(Array.from({ length: Math.min(this.s.perDevice, Math.max(1, plan.length)) }, lane));
    if (fatal !== null && !ctx.signal.aborted) throw fatal;
    if (skipped > 0) log(`${client.name}: ${plural(skipped, 'clip')} already delivered (a file of its size is there); not fetched again`);
    const result = { device: { server: client.name, ...info, offsetMinutes: off }, span, found: found.length, left, files, failed: failed.slice(0, RESULT_FAILED), failedCount: failed.length };
    if (ctx.signal.aborted) return stoppedResult(ctx.signal.reason, `${client.name}: stopped after ${done} of ${plan.length} clips`, result);
    if (failed.length > 0) {
      const names = failed.slice(0, 5).map((f) => f.clip).join(', ');
      const rest = failed.length === plan.length ? '' : '; the others were delivered';
      return { outcome: 'failed', error: `${client.name}: ${failed.length === plan.length ? `all ${plural(plan.length, 'clip')}` : `${failed.length} of ${plan.length} clips`} failed (${names}${failed.length > 5 ? ', …' : ''})${rest}`, result, retryable: true };
    }
    return { outcome: 'succeeded', result };
  }
}

/**
 * The asked cameras the device does not list among its channels and has no recording of, as an
 * error naming them and those it has; null when there are none, or when the device will not list
 * its channels (OEM clones), which leaves nothing to compare with. A camera with recordings is
 * never refused: some NVRs list only part of their channels.
 */
async function unknownCameras(client: IsapiClient, asked: string[], found: SearchMatch[]): Promise<string | null> {
  const recorded = new Set(found.map((m) => m.trackId));
  const silent = asked.filter((t) => !recorded.has(t));
  if (silent.length === 0) return null;
  let listed: string[];
  try {
    listed = await client.channels();
  } catch (err) {
    if (err instanceof IsapiError) return null;
    throw err;
  }
  if (listed.length === 0) return null;
  const channelOf = (t: string) => String(Math.floor(Number(t) / 100));
  const channels = new Set(listed.map(channelOf));
  const unknown = silent.filter((t) => !channels.has(channelOf(t)));
  if (unknown.length === 0) return null;
  return `${client.name}: no camera ${unknown.join(', ')} on this device (its cameras: ${listed.join(', ')}); check cameras`;
}

/** Each clip's file below the destination; two clips that would share a name get `-2`, `-3`. */
function planFiles(matches: SearchMatch[], p: HikvisionParams, zone: Zone, device: string): Array<{ m: SearchMatch; file: string }> {
  const taken = new Set<string>();
  return [...matches]
    .sort((a, b) => a.trackId.localeCompare(b.trackId) || a.start.localeCompare(b.start))
    .map((m) => {
      const base = clipPath(m, p, zone, device);
      let file = base;
      for (let n = 2; taken.has(file); n++) file = base.replace(/(\.[^./]*)?$/, (ext) => `-${n}${ext}`);
      taken.add(file);
      return { m, file };
    });
}

function sizeOf(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}
