import pg from 'pg';
import type { StoreEvents, Subscription } from '../store.js';

export const WORK_CHANNEL = 'drover_work';
export const STOP_CHANNEL = 'drover_stop';

/** A work notification's payload: the store instance that sent it, and how many jobs (empty: unknown). */
export function workPayload(instance: string, jobs?: number): string {
  return `${instance} ${jobs ?? ''}`;
}

/**
 * LISTEN on a dedicated connection (a pooled one would be handed to others). When the connection
 * drops it reconnects with backoff; `healthy()` is false meanwhile, so the coordinator polls.
 */
export async function listen(url: string, events: StoreEvents, o: { options?: string; instance?: string } = {}): Promise<Subscription> {
  const { options } = o;
  let client: pg.Client | null = null;
  let closed = false;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  // One reconnect pending at most: a failed connect also ends its client, and must not start a
  // second chain of retries.
  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void retry();
    }, Math.min(15_000, 250 * 2 ** failures++));
    timer.unref();
  };
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, ...(options ? { options } : {}) });
    c.on('notification', (n) => {
      if (n.channel === WORK_CHANNEL) {
        // Its own (the coordinator woke its polls when it made the change) are left out. An older
        // coordinator's empty payload wakes all.
        const [from, jobs] = (n.payload ?? '').split(' ');
        if (o.instance !== undefined && from === o.instance) return;
        events.work(jobs ? Number(jobs) : undefined);
      }
      else if (n.channel === STOP_CHANNEL && n.payload) events.stop(n.payload);
    });
    c.on('error', () => undefined);
    c.on('end', () => {
      if (client !== c) return;
      client = null;
      schedule();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${WORK_CHANNEL}; LISTEN ${STOP_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    failures = 0;
    // Whatever happened while we were not listening: look again.
    events.work();
  };
  const retry = async () => {
    if (closed) return;
    try {
      await connect();
    } catch {
      schedule();
    }
  };
  await connect();
  return {
    healthy: () => client !== null,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
