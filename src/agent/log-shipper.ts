import type { Logger } from 'pino';
import { ApiError } from '../client/api-client.js';
import type { DroverClient } from '../client/drover-client.js';
import { errorMessage } from '../core/errors.js';
import type { LogChunk } from '../core/reports.js';

/** Most log text buffered per job while the coordinator is unreachable; older text is dropped. */
const MAX_BUFFER_CHARS = 1024 * 1024;

/**
 * Ships job output to the coordinator in chunks: at most every `intervalMs` (default 500) per
 * job. Text is already redacted by the caller. The worker's own log file keeps everything.
 */
export class LogShipper {
  private buffers = new Map<string, { token: string; chunks: LogChunk[]; chars: number; dropped: number }>();
  private timer: NodeJS.Timeout | null = null;
  private sending = false;

  constructor(
    private readonly api: DroverClient,
    private readonly log: Logger,
    /** Each request's bound, ms (the worker's: a third of the lease TTL). */
    private readonly timeoutMs: () => number,
    private readonly intervalMs = 500,
  ) {}

  /** Buffers `text` of the job leased with `token` (the coordinator takes a job's log only from its lease holder). */
  add(jobId: string, token: string, stream: string, text: string): void {
    let b = this.buffers.get(jobId);
    if (!b) {
      b = { token, chunks: [], chars: 0, dropped: 0 };
      this.buffers.set(jobId, b);
    }
    const last = b.chunks[b.chunks.length - 1];
    if (last && last.stream === stream && last.text.length < 16 * 1024) last.text += text;
    else b.chunks.push({ stream, text, ts: Date.now() });
    b.chars += text.length;
    while (b.chars > MAX_BUFFER_CHARS && b.chunks.length > 1) {
      const gone = b.chunks.shift() as LogChunk;
      b.chars -= gone.text.length;
      b.dropped += gone.text.length;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Sends everything buffered (for one job, or all). Failed sends stay buffered. */
  async flush(jobId?: string): Promise<void> {
    if (this.timer && jobId === undefined) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.sending && jobId === undefined) return;
    this.sending = true;
    try {
      const ids = jobId === undefined ? [...this.buffers.keys()] : [jobId];
      for (const id of ids) {
        const b = this.buffers.get(id);
        if (!b || b.chunks.length === 0) continue;
        this.buffers.delete(id);
        const chunks = b.dropped > 0 ? [{ stream: 'drover', text: `[${b.dropped} characters of output dropped while the coordinator was unreachable]\n`, ts: Date.now() }, ...b.chunks] : b.chunks;
        try {
          await this.api.appendLogs(id, b.token, chunks, { timeoutMs: this.timeoutMs() });
        } catch (err) {
          // The lease is gone (the job ended or went elsewhere): the text has nowhere to go; the worker's own log file keeps it.
          if (err instanceof ApiError && (err.status === 409 || err.status === 404)) continue;
          this.log.debug({ job: id, err: errorMessage(err) }, 'cannot ship logs yet');
          const again = this.buffers.get(id);
          // Put back in front of anything added meanwhile.
          this.buffers.set(id, { token: b.token, chunks: [...b.chunks, ...(again?.chunks ?? [])], chars: b.chars + (again?.chars ?? 0), dropped: b.dropped });
        }
      }
    } finally {
      this.sending = false;
    }
    if (this.buffers.size > 0 && !this.timer) {
      this.timer = setTimeout(() => void this.flush(), Math.max(this.intervalMs, 2000));
      this.timer.unref();
    }
  }

  /** Forgets a job's buffer (e.g. the job was taken from this worker). */
  drop(jobId: string): void {
    this.buffers.delete(jobId);
  }
}
