import type { Clock } from '../core/clock.js';
import type { Job } from '../core/job.js';
import type { WorkerRecord } from '../core/reports.js';

/**
 * Why `job` cannot start on any of the `online` workers, or null when one of them can run it: its
 * queue is paused, or no worker offers its template, runs its kind, or has the destination it names. A worker too old to
 * say its destinations is taken to have them.
 */
export function waitReason(job: Job, online: readonly WorkerRecord[], paused: ReadonlySet<string> = new Set()): string | null {
  if (paused.has(job.queue)) return `queue ${job.queue} is paused (drover queue resume ${job.queue})`;
  const here = job.node === null ? online : online.filter((w) => w.node === job.node);
  if (job.node !== null && here.length === 0) return `no online worker is node "${job.node}"`;
  const able = here.filter((w) => (job.template !== null ? w.templates.some((t) => t.name === job.template) : w.kinds.includes(job.kind)));
  if (able.length === 0) return job.template !== null ? `no online worker${job.node === null ? '' : ` of node "${job.node}"`} offers template "${job.template}"` : `no online worker${job.node === null ? '' : ` of node "${job.node}"`} runs kind ${job.kind}`;
  const dest = typeof job.params.dest === 'string' ? (job.params.dest.split(':')[0] as string) : null;
  if (dest !== null && able.every((w) => w.destinations !== undefined && !w.destinations.includes(dest))) {
    const have = [...new Set(able.flatMap((w) => w.destinations ?? []))].sort();
    return `no online worker has destination "${dest}" (they have: ${have.join(', ') || 'none'})`;
  }
  return null;
}

/** A value read at most once per `ttlMs` on the clock; callers at the same time share one read. */
export class Cached<T> {
  private value: Promise<T> | null = null;
  private at = -Infinity;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly read: () => Promise<T>,
  ) {}

  /** The next `get` reads again. */
  forget(): void {
    this.value = null;
  }

  get(): Promise<T> {
    const now = this.clock.now();
    if (!this.value || now - this.at >= this.ttlMs) {
      this.at = now;
      this.value = this.read().catch((err: unknown) => {
        this.value = null;
        throw err;
      });
    }
    return this.value;
  }
}
