import type { FastifyInstance } from 'fastify';
import type { BulkAnswer, FinishedAnswer, ImportAnswer } from '../protocol/messages.js';
import { ROUTES } from '../protocol/routes.js';
import { bulkRequestOf, importRequestOf } from '../protocol/validate-dashboard.js';
import { bulkAction } from './bulk.js';
import { clientGone, type HttpOptions } from './http-context.js';
import { importTable } from './imports.js';

/** What the dashboard adds to the API (scripts may use them too): the finished chart, bulk actions, imports. Only HTTP here. */
export function registerDashboardRoutes(app: FastifyInstance, o: HttpOptions): void {
  const c = o.coordinator;
  app.get(ROUTES.finished.pattern, async (req): Promise<FinishedAnswer> => c.finished((req.query as { window?: string }).window));
  app.post(ROUTES.bulk.pattern, async (req, reply): Promise<BulkAnswer> => bulkAction(c, bulkRequestOf(req.body), clientGone(reply)));
  app.post(ROUTES.importJobs.pattern, async (req, reply): Promise<ImportAnswer> => {
    const dryRun = (req.query as { dryRun?: string }).dryRun === 'true';
    const answer = await importTable(c, importRequestOf(req.body), dryRun);
    // Problems are an answer, not an error: the page shows each by row and column.
    if (answer.errors.length > 0) reply.code(422);
    else if (!dryRun) reply.code(201);
    return answer;
  });
}
