import client from 'prom-client';
import { collectProcessMetrics } from '../core/process-metrics.js';
import type { JobStore } from '../store/store.js';
import type { StorageStatus } from './disk-guard.js';

/** The coordinator's Prometheus metrics, on a registry of its own (several coordinators per process in tests). */
export function createMetrics(store: () => JobStore, storage: () => StorageStatus | null = () => null) {
  const registry = new client.Registry();
  const enqueued = new client.Counter({ name: 'drover_jobs_enqueued_total', help: 'Jobs created', registers: [registry] });
  const started = new client.Counter({ name: 'drover_jobs_started_total', help: 'Attempts started (jobs leased)', registers: [registry] });
  const finished = new client.Counter({
    name: 'drover_jobs_finished_total',
    help: 'Attempts reported by workers, by the state the job moved to',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const leasesExpired = new client.Counter({ name: 'drover_leases_expired_total', help: 'Leases that expired without a heartbeat', registers: [registry] });
  const timedOut = new client.Counter({ name: 'drover_time_limits_hit_total', help: 'Running jobs told to stop at their time limit', registers: [registry] });
  new client.Gauge({
    name: 'drover_jobs',
    help: 'Jobs by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await store().counts({});
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new client.Gauge({
    name: 'drover_queue_jobs',
    help: 'Jobs by queue and state (the depth of each queue: state="queued")',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, counts] of Object.entries(await store().countsByQueue({}))) for (const [state, n] of Object.entries(counts)) if (n > 0) this.set({ queue, state }, n);
    },
  });
  const leaseSeconds = new client.Histogram({
    name: 'drover_lease_claim_seconds',
    help: 'Time of one claim in the store, for a lease request that found jobs',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const waitSeconds = new client.Histogram({
    name: 'drover_job_wait_seconds',
    help: 'Time from a job being due to its attempt starting, by kind and queue',
    labelNames: ['kind', 'queue'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400],
    registers: [registry],
  });
  const durationSeconds = new client.Histogram({
    name: 'drover_job_duration_seconds',
    help: 'Time of an attempt, from its lease to its report, by kind, queue and the state it ended in (attempts leased by this coordinator)',
    labelNames: ['kind', 'queue', 'state'] as const,
    buckets: [0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 86400],
    registers: [registry],
  });
  // A SQLite coordinator's disk: new jobs are refused while free < reserve (disk-guard.ts).
  new client.Gauge({
    name: 'drover_storage_free_bytes',
    help: "Free space on the SQLite database's filesystem (absent on PostgreSQL)",
    registers: [registry],
    collect() {
      const s = storage();
      if (s) this.set(s.freeBytes);
    },
  });
  new client.Gauge({
    name: 'drover_storage_reserve_bytes',
    help: 'Free space below which new jobs are refused (server.disk_reserve_mb)',
    registers: [registry],
    collect() {
      const s = storage();
      if (s) this.set(s.reserveBytes);
    },
  });
  const storageFull = new client.Counter({ name: 'drover_storage_full_total', help: 'Requests refused because a write found the storage full (507)', registers: [registry] });
  // The edge (connections.ts, poll-caps.ts): what clients hold open, and what was refused at a cap.
  const httpConnections = new client.Gauge({ name: 'drover_http_connections', help: 'Client connections open now', registers: [registry] });
  const httpConnectionsRefused = new client.Counter({ name: 'drover_http_connections_refused_total', help: 'Connections closed at once because server.max_connections were open', registers: [registry] });
  const longPolls = new client.Gauge({ name: 'drover_long_polls', help: 'Long polls waiting now (lease, stops, logs, job waits)', registers: [registry] });
  const longPollsRefused = new client.Counter({
    name: 'drover_long_polls_refused_total',
    help: 'Long polls refused with 429, by the cap reached (total: server.max_long_polls; worker: server.max_long_polls_per_worker)',
    labelNames: ['cap'] as const,
    registers: [registry],
  });
  // Per job enqueued, about one: an enqueue wakes as many waiting lease requests as it made jobs, not all.
  const leaseWakeups = new client.Counter({ name: 'drover_lease_wakeups_total', help: 'Waiting lease requests woken to claim (by new work, or handed on by one that found nothing for it)', registers: [registry] });
  collectProcessMetrics(registry, 'drover_');
  return { registry, enqueued, started, finished, leasesExpired, timedOut, leaseSeconds, waitSeconds, durationSeconds, storageFull, httpConnections, httpConnectionsRefused, longPolls, longPollsRefused, leaseWakeups };
}

export type Metrics = ReturnType<typeof createMetrics>;
