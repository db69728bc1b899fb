import client from 'prom-client';

/** prom-client's defaults that are gauges named `_total`, which Prometheus's lint (promtool) refuses; `nodejs_active_{handles,requests,resources}` (by type) stay. */
const MISNAMED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The process's own metrics (CPU, memory, event loop, GC, handles) on `registry`, as prom-client makes them, without its three misnamed totals. */
export function collectProcessMetrics(registry: client.Registry, prefix = ''): void {
  client.collectDefaultMetrics({ register: registry, prefix });
  for (const name of MISNAMED) registry.removeSingleMetric(`${prefix}${name}`);
}
