import type { Clock } from '../core/clock.js';
import { isFinalState, type Job } from '../core/job.js';
import type { CompleteAnswer } from '../core/reports.js';
import type { Metrics } from './metrics.js';

/** Attempts kept in memory for their duration at most; beyond, the oldest go (their duration is not measured). */
const MAX_OPEN = 100_000;

/**
 * The time histograms of jobs (metrics.ts): how long a job waited once due, how long a claim took,
 * how long an attempt ran. An attempt's duration is measured by the coordinator that leased it
 * (it keeps the start in memory): with several coordinators, a report that reaches another one
 * is not measured twice, and not at all.
 */
export class JobTimings {
  private readonly open = new Map<string, { kind: string; queue: string; startedAt: number }>();

  constructor(
    private readonly metrics: Metrics,
    private readonly clock: Clock,
  ) {}

  /** Jobs a claim of `claimMs` leased. */
  leased(jobs: readonly Job[], claimMs: number): void {
    this.metrics.leaseSeconds.observe(claimMs / 1000);
    for (const j of jobs) {
      const startedAt = j.startedAt ?? this.clock.now();
      this.metrics.waitSeconds.observe({ kind: j.kind, queue: j.queue }, Math.max(0, startedAt - j.runAt) / 1000);
      if (this.open.size >= MAX_OPEN) this.open.delete(this.open.keys().next().value as string);
      this.open.set(j.id, { kind: j.kind, queue: j.queue, startedAt });
    }
  }

  /** Outcomes settled: each attempt that ended, or went back to the queue, is measured once. */
  reported(answers: readonly CompleteAnswer[]): void {
    const now = this.clock.now();
    for (const a of answers) {
      const o = this.open.get(a.id);
      if (!o || a.status !== 'ok') continue;
      this.open.delete(a.id);
      const state = isFinalState(a.state) || a.state === 'awaiting_children' ? a.state : 'retried';
      this.metrics.durationSeconds.observe({ kind: o.kind, queue: o.queue, state }, Math.max(0, now - o.startedAt) / 1000);
    }
  }
}
