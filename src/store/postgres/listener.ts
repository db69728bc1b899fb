import pg from 'pg';
import type { StoreEvents, Subscription } from '../store.js';

export const WORK_CHANNEL = 'drover_work';
export const STOP_CHANNEL = 'drover_stop';

/**
 * LISTEN on a dedicated connection (a pooled one would be handed to others). When the connection
 * drops it reconnects with backoff; `healthy()` is false meanwhile, so the coordinator polls.
 */
export async function listen(url: string, events: StoreEvents, options?: string): Promise<Subscription> {
  let client: pg.Client | null = null;
  let up = false;
  let closed = false;
  let failures = 0;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, ...(options ? { options } : {}) });
    c.on('notification', (n) => {
      if (n.channel === WORK_CHANNEL) events.work();
      else if (n.channel === STOP_CHANNEL && n.payload) events.stop(n.payload);
    });
    c.on('error', () => undefined);
    c.on('end', () => {
      up = false;
      if (!closed) setTimeout(() => void retry(), Math.min(15_000, 250 * 2 ** failures++)).unref();
    });
    await c.connect();
    await c.query(`LISTEN ${WORK_CHANNEL}; LISTEN ${STOP_CHANNEL}`);
    client = c;
    up = true;
    failures = 0;
    // Whatever happened while we were not listening: look again.
    events.work();
  };
  const retry = async () => {
    if (closed) return;
    try {
      await connect();
    } catch {
      if (!closed) setTimeout(() => void retry(), Math.min(15_000, 250 * 2 ** failures++)).unref();
    }
  };
  await connect();
  return {
    healthy: () => up,
    async close() {
      closed = true;
      up = false;
      await client?.end().catch(() => undefined);
    },
  };
}
