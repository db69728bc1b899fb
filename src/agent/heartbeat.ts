import type { Logger } from 'pino';
import type { DroverClient } from '../client/drover-client.js';
import { errorMessage } from '../core/errors.js';
import type { WorkerInfo } from '../core/reports.js';
import type { AbortReason } from '../runners/runner.js';
import { AGENT_DEFAULTS } from './defaults.js';
import { reconnectDelay, sleep } from './retry.js';
import type { Running } from './run-attempt.js';

/** What the heartbeat needs of its worker. */
export interface HeartbeatDeps {
  api: DroverClient;
  log: Logger;
  name: string;
  /** Each request's bound, ms. */
  requestMs(): number;
  /** Jobs whose run goes on. */
  running(): ReadonlyMap<string, Running>;
  /** Every lease held: runs going on, and runs whose outcome is on its way. */
  held(): Running[];
  info(): WorkerInfo;
  /** A heartbeat was answered after some were not, the last given up at `failedAt` (performance.now). */
  reachableAgain(failedAt: number): void;
}

/**
 * A worker's heartbeat: renews every lease it holds and reports progress, at the interval the
 * coordinator sets, or at once when asked (`beatSoon`); acts on the coordinator's answers (stop,
 * lost). Runs until `signal` aborts.
 */
export class Heartbeat {
  /** The interval, ms: the coordinator's, as its last lease answer said. */
  private intervalMs: number = AGENT_DEFAULTS.heartbeatIntervalMs;
  /** The description changed (a reload): the next heartbeat carries it. */
  private infoChanged = false;
  /** Cuts the loop's current wait short. */
  private kick: (() => void) | null = null;
  /** A heartbeat is owed as soon as the current one is done (asked for while one was on its way). */
  private kickPending = false;

  constructor(private readonly d: HeartbeatDeps) {}

  /** The coordinator's interval: a shorter one applies before the next beat. */
  setInterval(ms: number): void {
    if (ms === this.intervalMs) return;
    this.intervalMs = ms;
    this.kick?.();
  }

  /** A heartbeat now, or once the one on its way is answered. */
  beatSoon(): void {
    if (this.kick) this.kick();
    else this.kickPending = true;
  }

  /** The next heartbeat carries the worker's whole description, and goes now. */
  describeAgain(): void {
    this.infoChanged = true;
    this.beatSoon();
  }

  async loop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    /** When the last heartbeat was given up on (performance.now). */
    let lastFailedAt = 0;
    while (!signal.aborted) {
      const kick = new AbortController();
      this.kick = () => kick.abort();
      if (this.kickPending) kick.abort();
      this.kickPending = false;
      const wait = failures > 0 ? Math.min(reconnectDelay(failures), this.intervalMs) : this.intervalMs;
      await sleep(wait, AbortSignal.any([signal, kick.signal]));
      this.kick = null;
      if (signal.aborted) break;
      const held = this.d.held();
      // Only who and how busy: the templates go with the lease requests, or here once after a reload.
      const changed = this.infoChanged;
      this.infoChanged = false;
      const running = this.d.running();
      try {
        const { answers } = await this.d.api.heartbeat(
          {
            worker: { name: this.d.name, running: running.size, ...(changed ? { info: this.d.info() } : {}) },
            jobs: held.map((r) => ({ id: r.job.id, token: r.token, progress: r.progress })),
          },
          { timeoutMs: this.d.requestMs() },
        );
        if (failures > 0) this.d.reachableAgain(lastFailedAt);
        failures = 0;
        for (const a of answers) {
          const r = running.get(a.id);
          // A job whose run is over has nothing left to stop.
          if (!r) continue;
          if (a.status === 'stop') r.abort.abort(a.reason satisfies AbortReason);
          else if (a.status === 'lost') r.abort.abort('lost' satisfies AbortReason);
        }
      } catch (err) {
        failures++;
        lastFailedAt = performance.now();
        if (changed) this.infoChanged = true;
        this.d.log.warn({ err: errorMessage(err), running: held.length }, 'heartbeat failed; jobs keep running');
      }
    }
  }
}
