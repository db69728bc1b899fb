import type { FastifyInstance } from 'fastify';
import { ROUTES } from '../protocol/routes.js';
import type { HttpOptions } from './http-context.js';
import type { QueueView } from '../protocol/messages.js';

/** `GET /queues` (read tokens too), `POST /queues/{name}/pause` and `/resume` (admin). Only HTTP here. */
export function registerQueueRoutes(app: FastifyInstance, o: HttpOptions): void {
  const q = o.coordinator.queues;
  app.get(ROUTES.queues.pattern, async (): Promise<{ queues: QueueView[] }> => ({ queues: await q.list() }));
  app.post(ROUTES.pauseQueue.pattern, async (req): Promise<{ queue: QueueView }> => ({ queue: await q.setPaused((req.params as { name: string }).name, true) }));
  app.post(ROUTES.resumeQueue.pattern, async (req): Promise<{ queue: QueueView }> => ({ queue: await q.setPaused((req.params as { name: string }).name, false) }));
}
