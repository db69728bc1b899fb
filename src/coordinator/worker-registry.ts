import type { Clock } from '../core/clock.js';
import type { SegmentNode, WorkerInfo, WorkerRecord, WorkerView } from '../core/reports.js';
import type { WorkerPulse } from '../protocol/messages.js';
import { builtinKindNames } from '../runners/registry.js';
import type { JobStore } from '../store/store.js';
import type { TemplateCatalog } from './templates.js';
import { templateAdvertOf } from '../protocol/template-advert.js';
import { Cached } from './wait-reason.js';

/** The online workers are looked up again after this long, ms. */
const ONLINE_LOOK_MS = 1_000;
/** A worker's registry row is rewritten at most this often, ms. */
const REGISTRY_WRITE_MS = 2_000;

/**
 * The workers a coordinator hears from: their rows in the store (written at most every 2 s per
 * worker), the kinds and templates they bring, and who is online.
 */
export class WorkerRegistry {
  /** Kinds known: built in plus advertised by workers. */
  readonly kinds = new Set<string>(builtinKindNames());
  /** The workers online now, read at most once a second (enqueues and listings ask). */
  readonly online: Cached<WorkerRecord[]>;
  /** Per worker: when its row was last written from a lease request, and from a heartbeat. */
  private readonly lastUpsert = new Map<string, number>();
  private readonly lastTouch = new Map<string, number>();

  constructor(
    private readonly o: {
      store: JobStore;
      clock: Clock;
      templates: TemplateCatalog;
      /** Online: seen within this long, ms. */
      leaseTtlMs: number;
      /** Listings leave out workers gone longer than this, ms. */
      retentionMs: number;
    },
  ) {
    this.online = new Cached(ONLINE_LOOK_MS, o.clock, async () => {
      const now = o.clock.now();
      return (await o.store.listWorkers()).filter((w) => this.isOnline(w, now));
    });
  }

  /** Learns the kinds and templates of the workers the store knows (at start). */
  async load(): Promise<void> {
    for (const w of await this.o.store.listWorkers()) {
      // Written by any version before: checked as a lease's advertisement is, the bad ones left out.
      const templates = w.templates.flatMap((t, i) => {
        try {
          return [templateAdvertOf(t, `worker ${w.name} templates[${i}]`)];
        } catch {
          return [];
        }
      });
      this.learn({ ...w, templates });
    }
  }

  /** A lease request: the worker's whole description, templates included. */
  async register(w: WorkerInfo): Promise<void> {
    this.learn(w);
    const first = !this.lastUpsert.has(w.name);
    if (!this.due(this.lastUpsert, w.name)) return;
    await this.o.store.upsertWorker({ worker: w, now: this.o.clock.now() });
    // A worker new to this coordinator: an add right after must not warn from a list that lacks it.
    if (first) this.online.forget();
  }

  /** A heartbeat: the worker is alive and this busy; with `info`, it was reconfigured: recorded at once. */
  async pulse(w: WorkerPulse): Promise<void> {
    const now = this.o.clock.now();
    if (w.info && w.info.name === w.name) {
      this.learn(w.info);
      // A worker that stopped and comes back under its name must be written again at its first lease.
      if (w.info.stopped) this.lastUpsert.delete(w.name);
      else this.lastUpsert.set(w.name, now);
      this.online.forget();
      return this.o.store.upsertWorker({ worker: w.info, now });
    }
    if (!this.due(this.lastTouch, w.name)) return;
    await this.o.store.touchWorker({ name: w.name, running: w.running, now });
  }

  /**
   * The workers that talked to a coordinator: online (within the lease TTL) or gone for less than
   * the retention, or every one with `all`; `running` counts the leases each holds.
   */
  async list(o: { all?: boolean } = {}): Promise<WorkerView[]> {
    const now = this.o.clock.now();
    const [records, leases] = await Promise.all([this.o.store.listWorkers(), this.o.store.runningByWorker()]);
    return records
      .map((w) => ({ ...w, online: this.isOnline(w, now), running: leases[w.name] ?? 0 }))
      .filter((w) => o.all || w.online || now - w.lastSeen <= this.o.retentionMs);
  }

  /** The online workers with a segment server: a mirror's peers when it takes them from the registry. */
  async segmentNodes(): Promise<SegmentNode[]> {
    return (await this.online.get()).flatMap((w) => (w.segments ? [{ node: w.node ?? w.name, url: w.segments.url, channels: w.segments.channels }] : []));
  }

  /** Forgets the workers gone longer than the retention; returns how many. */
  prune(): Promise<number> {
    return this.o.store.deleteWorkers({ before: this.o.clock.now() - this.o.retentionMs });
  }

  /** It talked to a coordinator within the lease TTL and did not say it stopped. */
  private isOnline(w: WorkerRecord, now: number): boolean {
    return w.stopped !== true && now - w.lastSeen <= this.o.leaseTtlMs;
  }

  /** True at most once per REGISTRY_WRITE_MS for each name. */
  private due(last: Map<string, number>, name: string): boolean {
    const now = this.o.clock.now();
    const t = last.get(name);
    if (t !== undefined && now - t < REGISTRY_WRITE_MS) return false;
    last.set(name, now);
    return true;
  }

  private learn(w: WorkerInfo): void {
    for (const k of w.kinds) this.kinds.add(k);
    this.o.templates.learn(w.templates, `worker ${w.name}`);
  }
}
