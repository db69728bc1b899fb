/**
 * Every route of the coordinator's HTTP API, once: the coordinator registers `pattern`, the
 * client builds `path(...)`. JSON under /api/v1 (see protocol/messages.ts for the bodies).
 */
const enc = encodeURIComponent;
const V1 = '/api/v1';

export const ROUTES = {
  health: { method: 'GET', pattern: '/healthz', path: () => '/healthz' },
  metrics: { method: 'GET', pattern: '/metrics', path: () => '/metrics' },
  openapi: { method: 'GET', pattern: `${V1}/openapi.json`, path: () => `${V1}/openapi.json` },

  enqueue: { method: 'POST', pattern: `${V1}/jobs`, path: (q?: EnqueueMode) => `${V1}/jobs${q === 'dryRun' ? '?dryRun=true' : q === 'ids' ? '?return=ids' : ''}` },
  list: { method: 'GET', pattern: `${V1}/jobs`, path: (query: URLSearchParams) => withQuery(`${V1}/jobs`, query) },
  counts: { method: 'GET', pattern: `${V1}/jobs/counts`, path: (query: URLSearchParams) => withQuery(`${V1}/jobs/counts`, query) },
  job: { method: 'GET', pattern: `${V1}/jobs/:id`, path: (id: string) => `${V1}/jobs/${enc(id)}` },
  waitJob: { method: 'GET', pattern: `${V1}/jobs/:id/wait`, path: (id: string, since: number, waitMs: number) => `${V1}/jobs/${enc(id)}/wait?since=${since}&wait=${waitMs}` },
  cancel: { method: 'POST', pattern: `${V1}/jobs/:id/cancel`, path: (id: string) => `${V1}/jobs/${enc(id)}/cancel` },
  retry: { method: 'POST', pattern: `${V1}/jobs/:id/retry`, path: (id: string) => `${V1}/jobs/${enc(id)}/retry` },
  readLogs: {
    method: 'GET',
    pattern: `${V1}/jobs/:id/logs`,
    path: (id: string, after: number, limit: number, waitMs: number) => `${V1}/jobs/${enc(id)}/logs?after=${after}&limit=${limit}${waitMs > 0 ? `&wait=${waitMs}` : ''}`,
  },
  workers: { method: 'GET', pattern: `${V1}/workers`, path: (all = false) => `${V1}/workers${all ? '?all=true' : ''}` },
  pruneWorkers: { method: 'POST', pattern: `${V1}/workers/prune`, path: () => `${V1}/workers/prune` },
  templates: { method: 'GET', pattern: `${V1}/templates`, path: () => `${V1}/templates` },
  stats: { method: 'GET', pattern: `${V1}/stats`, path: () => `${V1}/stats` },
  schedules: { method: 'GET', pattern: `${V1}/schedules`, path: () => `${V1}/schedules` },
  putSchedule: { method: 'POST', pattern: `${V1}/schedules`, path: () => `${V1}/schedules` },
  deleteSchedule: { method: 'DELETE', pattern: `${V1}/schedules/:name`, path: (name: string) => `${V1}/schedules/${enc(name)}` },
  pauseSchedule: { method: 'POST', pattern: `${V1}/schedules/:name/pause`, path: (name: string) => `${V1}/schedules/${enc(name)}/pause` },
  resumeSchedule: { method: 'POST', pattern: `${V1}/schedules/:name/resume`, path: (name: string) => `${V1}/schedules/${enc(name)}/resume` },
  segmentNodes: { method: 'GET', pattern: `${V1}/segment-nodes`, path: () => `${V1}/segment-nodes` },
  purge: { method: 'POST', pattern: `${V1}/jobs/purge`, path: () => `${V1}/jobs/purge` },
  kinds: { method: 'GET', pattern: `${V1}/kinds`, path: () => `${V1}/kinds` },
  tokens: { method: 'GET', pattern: `${V1}/tokens`, path: () => `${V1}/tokens` },
  createToken: { method: 'POST', pattern: `${V1}/tokens`, path: () => `${V1}/tokens` },
  revokeToken: { method: 'DELETE', pattern: `${V1}/tokens/:name`, path: (name: string) => `${V1}/tokens/${enc(name)}` },
  checkToken: { method: 'POST', pattern: `${V1}/tokens/check`, path: () => `${V1}/tokens/check` },
  queues: { method: 'GET', pattern: `${V1}/queues`, path: () => `${V1}/queues` },
  pauseQueue: { method: 'POST', pattern: `${V1}/queues/:name/pause`, path: (name: string) => `${V1}/queues/${enc(name)}/pause` },
  resumeQueue: { method: 'POST', pattern: `${V1}/queues/:name/resume`, path: (name: string) => `${V1}/queues/${enc(name)}/resume` },
  events: { method: 'GET', pattern: `${V1}/events`, path: (query?: URLSearchParams) => withQuery(`${V1}/events`, query ?? new URLSearchParams()) },
  finished: { method: 'GET', pattern: `${V1}/stats/finished`, path: (window: 'hour' | 'day') => `${V1}/stats/finished?window=${window}` },
  bulk: { method: 'POST', pattern: `${V1}/jobs/bulk`, path: () => `${V1}/jobs/bulk` },
  importJobs: { method: 'POST', pattern: `${V1}/imports`, path: (dryRun = false) => `${V1}/imports${dryRun ? '?dryRun=true' : ''}` },
  session: { method: 'GET', pattern: `${V1}/session`, path: () => `${V1}/session` },
  signIn: { method: 'POST', pattern: `${V1}/session`, path: () => `${V1}/session` },
  signOut: { method: 'DELETE', pattern: `${V1}/session`, path: () => `${V1}/session` },

  // The worker protocol.
  lease: { method: 'POST', pattern: `${V1}/lease`, path: () => `${V1}/lease` },
  heartbeat: { method: 'POST', pattern: `${V1}/heartbeat`, path: () => `${V1}/heartbeat` },
  complete: { method: 'POST', pattern: `${V1}/complete`, path: () => `${V1}/complete` },
  completeOne: { method: 'POST', pattern: `${V1}/jobs/:id/complete`, path: (id: string) => `${V1}/jobs/${enc(id)}/complete` },
  failOne: { method: 'POST', pattern: `${V1}/jobs/:id/fail`, path: (id: string) => `${V1}/jobs/${enc(id)}/fail` },
  appendLogs: { method: 'POST', pattern: `${V1}/jobs/:id/logs`, path: (id: string) => `${V1}/jobs/${enc(id)}/logs` },
  stops: { method: 'GET', pattern: `${V1}/workers/:name/stops`, path: (name: string, waitMs: number) => `${V1}/workers/${enc(name)}/stops?wait=${waitMs}` },
} as const;

/** `POST /jobs` answers with the jobs, with their ids only (`?return=ids`), or checks only (`?dryRun=true`). */
export type EnqueueMode = 'jobs' | 'ids' | 'dryRun';

function withQuery(p: string, q: URLSearchParams): string {
  const s = q.toString();
  return s ? `${p}?${s}` : p;
}
