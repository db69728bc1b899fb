/** What the traversal tests share: a coordinator to enqueue at, and a leased job to run on a worker's runner. */
import path from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { startServer } from '../../src/coordinator/server.js';
import type { LeasedJob, Params } from '../../src/core/job.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Template } from '../../src/runners/template.js';
import { onCleanup, tempDir } from '../support/tmp.js';

/** A coordinator with the templates of `yaml`; `enqueue` answers the HTTP status and the error's message, if any. */
export async function coordinator(yaml = 'templates: {}\n') {
  const { templates } = parseConfig(yaml);
  const srv = await startServer({ port: 0, dataDir: path.join(tempDir('drover-trav-coord-'), 'data'), tokens: { admin: null, worker: null }, templates: templates.values(), logger: silentLogger() });
  onCleanup(() => srv.close());
  const post = async (p: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${srv.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** 201 and no message, or the status and the error's message and field. */
  const enqueue = async (spec: Record<string, unknown>): Promise<{ status: number; message?: string; field?: string }> => {
    const r = await post('/api/v1/jobs', spec);
    const error = r.body.error as { message?: string; field?: string } | undefined;
    return { status: r.status, ...(error?.message !== undefined ? { message: error.message } : {}), ...(error?.field !== undefined ? { field: error.field } : {}) };
  };
  return { srv, templates, post, enqueue };
}

let jobNo = 0;

/** A job as a worker holds it. */
export function leased(params: Params, o: { kind?: string; template?: Template | null; id?: string } = {}): LeasedJob {
  return {
    id: o.id ?? `trav${++jobNo}`, queue: 'default', kind: o.kind ?? 'exec', template: o.template?.name ?? null, params, secrets: [], owner: null, tags: [], priority: 0,
    attempt: 1, maxAttempts: 1, timeLimitMs: null, createdAt: Date.now(), lease: { worker: 'w', token: 't', expiresAt: Date.now() + 60_000 },
  } as LeasedJob;
}

/** What of a refused value its error must show: its start as JSON (NUL is refused, by the coordinator, as "a NUL character"). */
export function shownPart(value: string): string {
  return value.includes('\0') ? 'NUL' : JSON.stringify(value).slice(1, -1).slice(0, 20);
}
