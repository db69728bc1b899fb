import client from 'prom-client';
import type { JobStore } from '../store/store.js';

/** The coordinator's Prometheus metrics, on a registry of its own (several coordinators per process in tests). */
export function createMetrics(store: () => JobStore) {
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
  client.collectDefaultMetrics({ register: registry, prefix: 'drover_' });
  return { registry, enqueued, started, finished, leasesExpired, timedOut };
}

export type Metrics = ReturnType<typeof createMetrics>;
