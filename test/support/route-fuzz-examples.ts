/**
 * A valid body or two for each route that reads one, made from what the fuzzed coordinator was
 * primed with (route-fuzz.ts): the fuzzer changes one field of one at any depth, so the rest of
 * the request passes and the change reaches the code behind the first check (the store too).
 * A route without examples is fuzzed from its schema alone.
 */

export interface Known {
  /** Jobs made at the start, with the lease of each one leased. */
  jobIds: string[];
  leases: Array<{ id: string; token: string }>;
  adminToken: string;
  workerToken: string;
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

export function examplesOf(k: Known): Record<string, unknown[]> {
  const lease = k.leases[0] ?? { id: 'none', token: 'none' };
  const worker = { name: 'fuzz-w', host: 'h', kinds: ['noop', 'exec'], slots: 2, running: 0, version: '0.1.0' };
  return {
    enqueue: [
      { kind: 'noop' },
      { template: 'hikload', params: { server: 'cam9', password: 'pw' }, secrets: ['server'], owner: 'o', tags: ['a'], queue: 'q1' },
      { jobs: [{ kind: 'noop', priority: 5, runAt: '10m', maxAttempts: 2, backoff: '1s', timeLimit: '1h', concurrencyKey: 'k', concurrencyLimit: 1, node: 'n1', key: 'key-1', unique: 'u-{server}', params: { server: 's' } }, { kind: 'noop' }] },
    ],
    putSchedule: [
      { name: 'fuzz-s1', every: '5m', job: { kind: 'noop', params: { a: 1 } } },
      { name: 'fuzz-s2', cron: '*/5 * * * *', timezone: 'Europe/Paris', job: { template: 'hikload', params: { server: 'c', password: 'p' } }, paused: true },
    ],
    purge: [{ before: 1, states: ['failed', 'canceled'] }],
    bulk: [
      { action: 'cancel', ids: k.jobIds.slice(0, 2) },
      { action: 'retry', filter: { state: ['failed'], queue: 'default', q: 'x', since: 0, finishedSince: '0' } },
    ],
    importJobs: [
      { format: 'csv', data: base64('server,password\ncam1,pw\ncam2,pw2\n'), name: 'cams.csv', template: 'hikload' },
      { format: 'jsonl', data: base64('{"x":1}\n{"x":"two"}\n'), kind: 'noop', defaults: { queue: 'q1', owner: 'o', priority: 1, maxAttempts: 2, tags: ['a'], params: { y: 'z' } } },
    ],
    createToken: [{ name: 'fuzz-read', role: 'read' }, { name: 'fuzz-w2', role: 'worker', queues: ['q1'], expires: '1d' }],
    checkToken: [{ token: k.workerToken }],
    signIn: [{ token: k.adminToken }],
    lease: [{ worker: { ...worker, templates: [{ name: 'tpl', kind: 'exec', required: ['a'], params: { a: { type: 'string' } } }], segments: { url: 'http://127.0.0.1:9', channels: ['c1'] }, node: 'n1', destinations: ['d'] }, queues: ['default'], limit: 1, wait: 0 }],
    heartbeat: [{ worker: { name: 'fuzz-w', running: 1, info: worker }, jobs: [{ id: lease.id, token: lease.token, progress: { bytes: 1, total: 2, percent: 50, message: 'm' } }] }],
    complete: [{ items: [{ id: lease.id, token: lease.token, outcome: 'succeeded', result: { files: ['a'] }, progress: { percent: 100 }, children: [{ kind: 'noop' }] }] }],
    completeOne: [{ token: lease.token, result: { ok: true }, progress: { percent: 100 }, children: [{ kind: 'noop' }] }],
    failOne: [{ token: lease.token, outcome: 'failed', error: 'x', retryable: true, release: false }],
    appendLogs: [{ token: lease.token, chunks: [{ stream: 'stdout', text: 'line\n', ts: 1 }] }],
  };
}
