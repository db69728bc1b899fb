import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { redactUrlSecrets } from '../../core/redact-url.js';
import type { AbortReason, RunContext, RunResult, Runner } from '../runner.js';
import { deliver } from '../shared/deliver.js';
import { clip, safeDestinationDir, showDest } from '../shared/destination.js';
import { sanitizeFileName } from '../shared/file-name.js';
import { stoppedResult } from '../shared/stop-result.js';
import { HashCursor } from './hash-cursor.js';
import { HashPool } from './hash-pool.js';
import { HttpError, makeClient, showUrl } from './http.js';
import { ConnectionLimits, Semaphore } from './limiter.js';
import { parseDownloadParams, type DownloadParams } from './params.js';
import { PartialDownload, SymlinkError } from './partial.js';
import type { DownloadSettings } from './settings.js';
import { transfer, type TransferStats } from './transfer.js';
import type { WireClient } from './wire/client.js';

/** How often progress is reported, ms. */
const PROGRESS_MS = 500;

/**
 * The `download` kind: resumable, segmented HTTP(S) downloads into a worker destination.
 * The partial file lives in TEMPDIR/JOB_ID across attempts; it is removed after success or a
 * final failure and kept after a time limit, a stop or a retryable failure, for the next attempt.
 */
export class DownloadRunner implements Runner {
  readonly kind = 'download';
  private readonly slots: Semaphore;
  private readonly limits: ConnectionLimits;
  private client: WireClient | null = null;
  private readonly hashers = new HashPool();

  constructor(private readonly s: DownloadSettings) {
    this.slots = new Semaphore(s.parallel);
    this.limits = new ConnectionLimits(s.maxConnections, s.perHost);
    sweepStale(s.tempDir, s.tempKeepMs);
  }

  async run(ctx: RunContext): Promise<RunResult> {
    try {
      return await this.attempt(ctx);
    } catch (err) {
      // Shown as "runner crashed: ..." by the agent, which hides the job's secret values as
      // given, not a URL as the runner spelled it (normalised, or where a redirect led). Every
      // URL the runner itself puts in a message or log goes through showUrl.
      if (err instanceof Error) err.message = redactUrlSecrets(err.message);
      throw err;
    }
  }

  private async attempt(ctx: RunContext): Promise<RunResult> {
    let p: DownloadParams;
    try {
      p = parseDownloadParams(ctx.job.params);
      // Before anything is fetched: a dest that leads out through a symbolic link or a path too
      // long fails now (the file name, when the server gives it, is checked at delivery).
      safeDestinationDir(this.s.destinations, p.dest, p.filename === null ? { create: false } : { create: false, name: p.filename });
    } catch (err) {
      if (err instanceof ValidationError) return { outcome: 'failed', error: err.message, retryable: false };
      throw err;
    }
    if (this.slots.inUse >= this.s.parallel) ctx.progress({ message: `waiting for a download slot (${this.s.parallel} at once)` });
    const release = await this.slots.take(ctx.signal).catch(() => null);
    if (!release) return this.stopped(ctx, null);
    let part: PartialDownload;
    try {
      part = new PartialDownload(path.join(this.s.tempDir, sanitizeFileName(ctx.job.id) || 'job')).open();
    } catch (err) {
      release();
      // Someone else's link in the temp dir: another attempt finds it there too.
      if (err instanceof SymlinkError) return { outcome: 'failed', error: `cannot keep the partial download: ${err.message}`, retryable: false };
      throw err;
    }
    try {
      return await this.download(ctx, p, part);
    } finally {
      part.close();
      release();
    }
  }

  private async download(ctx: RunContext, p: DownloadParams, part: PartialDownload): Promise<RunResult> {
    const stats: TransferStats = { bytes: 0, total: part.meta?.total ?? null, connections: 0 };
    const slow = new AbortController();
    const signal = AbortSignal.any([ctx.signal, slow.signal]);
    const algorithm = p.checksum?.algorithm ?? 'sha256';
    const hash = new HashCursor(this.hashers.open(part.dataPath, algorithm));
    const ticker = this.progressTicker(ctx, part, stats, () => slow.abort());
    const log = (text: string) => ctx.log('drover', text);
    const t0 = performance.now();
    try {
      const { meta, size } = await transfer({
        url: p.url,
        headers: { 'user-agent': 'drover', ...p.headers },
        part,
        connections: p.connections ?? this.s.connections,
        settings: this.s,
        limits: this.limits,
        client: (this.client ??= makeClient(this.s)),
        signal,
        maxSize: p.maxSize,
        log,
        stats,
        hash,
      });
      ticker.stop();
      const fetched = performance.now();
      ctx.progress({ bytes: size, total: size, percent: 100, message: 'verifying' });
      const digest = await hash.digest(size);
      const verified = performance.now();
      // The last progress stays on the job: not "verifying" once that is over.
      ctx.progress({ bytes: size, total: size, percent: 100 });
      if (p.checksum && digest !== p.checksum.hex) {
        part.remove();
        return { outcome: 'failed', error: `${algorithm} mismatch: expected ${p.checksum.hex}, got ${digest}; nothing delivered (a retry downloads it again)`, retryable: true };
      }
      const name = p.filename ?? (sanitizeFileName(meta.suggestedName ?? '') || nameFromUrl(p.url) || `download-${ctx.job.id}`);
      part.close();
      const out = this.deliver(part, p, name);
      part.remove();
      const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      log(`${out.skipped ? 'kept the existing' : 'delivered'} ${out.path} (${size} bytes, ${algorithm} ${digest}); ${stats.bytes} bytes fetched in ${secs(fetched - t0)}, checksum ready ${secs(verified - fetched)} later\n`);
      return {
        outcome: 'succeeded',
        result: { path: out.path, size, [algorithm]: digest, contentType: meta.contentType, url: showUrl(p.url), ...(out.skipped ? { skipped: true } : {}) },
      };
    } catch (err) {
      ticker.stop();
      if (ctx.signal.aborted) return this.stopped(ctx, part);
      if (slow.signal.aborted) return { outcome: 'failed', error: `slower than ${this.s.lowestSpeed} B/s for ${this.s.lowestSpeedWindowMs / 1000} s; ${part.done()} bytes kept for the next attempt`, retryable: true };
      if (err instanceof ValidationError) {
        // The file arrived but cannot be delivered where the job says: no attempt will fix that.
        part.remove();
        return { outcome: 'failed', error: err.message, retryable: false };
      }
      if (err instanceof HttpError) {
        // The last attempt, or one that cannot work: nothing more will use the partial file.
        if (!err.retryable || ctx.job.attempt >= ctx.job.maxAttempts) part.remove();
        return { outcome: 'failed', error: err.message, retryable: err.retryable };
      }
      if (!(err instanceof Error && /ENOSPC/.test(err.message))) throw err;
      part.remove();
      return { outcome: 'failed', error: `disk full: ${err.message}`, retryable: false };
    } finally {
      hash.close();
    }
  }

  /**
   * Moves the finished file into its dest, checked again now that the name is known and right
   * before it is written: a symbolic link put in the dest meanwhile must not take it elsewhere.
   * ValidationErrors name the dest.
   */
  private deliver(part: PartialDownload, p: DownloadParams, name: string): ReturnType<typeof deliver> {
    const dir = safeDestinationDir(this.s.destinations, p.dest, { create: true, name });
    try {
      return deliver(part.dataPath, dir, name, p.collision);
    } catch (err) {
      // Within NAME_MAX and PATH_MAX, yet too long here (eCryptfs takes 143 bytes a name).
      if ((err as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw err;
      throw new ValidationError(`dest ${showDest(p.dest)}: a name in ${clip(path.join(dir, name))} is too long for this filesystem`, 'params.dest');
    }
  }

  /** A stopped attempt: a cancel discards the partial file; a time limit or shutdown keeps it. */
  private stopped(ctx: RunContext, part: PartialDownload | null): RunResult {
    const reason = ctx.signal.reason as AbortReason;
    if (reason === 'canceled') {
      part?.remove();
      return stoppedResult(reason, 'canceled');
    }
    const kept = part ? `; ${part.done()} bytes kept for the next attempt` : '';
    return stoppedResult(reason, reason === 'timed_out' ? `time limit reached${kept}` : `stopped (${reason})${kept}`);
  }

  private progressTicker(ctx: RunContext, part: PartialDownload, stats: TransferStats, tooSlow: () => void): { stop(): void } {
    let last = { t: Date.now(), bytes: stats.bytes };
    let speed = 0;
    const timer = setInterval(() => {
      const now = Date.now();
      const rate = ((stats.bytes - last.bytes) * 1000) / Math.max(1, now - last.t);
      // Smoothed over a few seconds, so the ETA does not jump with every tick.
      speed = speed === 0 ? rate : speed * 0.7 + rate * 0.3;
      last = { t: now, bytes: stats.bytes };
      const bytes = part.done();
      const total = stats.total;
      ctx.progress({
        bytes,
        ...(total !== null ? { total, percent: total > 0 ? (bytes * 100) / total : 100 } : {}),
        speed: Math.round(speed),
        ...(total !== null && speed > 0 ? { eta: Math.round((total - bytes) / speed) } : {}),
        connections: stats.connections,
      });
      if (this.belowLowestSpeed(stats)) tooSlow();
    }, PROGRESS_MS);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  private readonly windows = new WeakMap<TransferStats, Array<{ t: number; bytes: number }>>();

  /** True once the rate stayed below `lowestSpeed` for a whole window. */
  private belowLowestSpeed(stats: TransferStats): boolean {
    if (this.s.lowestSpeed <= 0) return false;
    const w = this.windows.get(stats) ?? [];
    this.windows.set(stats, w);
    const now = Date.now();
    w.push({ t: now, bytes: stats.bytes });
    while (w.length > 1 && now - (w[1] as { t: number }).t >= this.s.lowestSpeedWindowMs) w.shift();
    const first = w[0] as { t: number; bytes: number };
    if (now - first.t < this.s.lowestSpeedWindowMs) return false;
    return ((stats.bytes - first.bytes) * 1000) / (now - first.t) < this.s.lowestSpeed;
  }
}

/**
 * Deletes partial downloads nothing has touched for `keepMs` (a timed-out job nobody retried).
 * Runs when the worker starts, before it runs any job.
 */
export function sweepStale(tempDir: string, keepMs: number, now = Date.now()): string[] {
  const gone: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(tempDir);
  } catch {
    return gone;
  }
  for (const name of entries) {
    const dir = path.join(tempDir, name);
    try {
      // Only what a download left: a tempdir set to a shared directory loses nothing else.
      if (!fs.existsSync(path.join(dir, 'segments')) || !fs.existsSync(path.join(dir, 'data'))) continue;
      const newest = Math.max(fs.statSync(dir).mtimeMs, ...fs.readdirSync(dir).map((f) => fs.statSync(path.join(dir, f)).mtimeMs));
      if (now - newest < keepMs) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      gone.push(name);
    } catch {
      // Not a directory of ours, or gone meanwhile: leave it.
    }
  }
  return gone;
}

function nameFromUrl(u: URL): string {
  const last = u.pathname.split('/').filter((s) => s.length > 0).pop() ?? '';
  try {
    return sanitizeFileName(decodeURIComponent(last));
  } catch {
    return sanitizeFileName(last);
  }
}
