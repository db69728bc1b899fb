import tls from 'node:tls';
import { Agent, request } from 'undici';
import { ApiError } from '../client/api-client.js';
import { DroverClient } from '../client/drover-client.js';
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { describeNetError } from '../core/net.js';
import { describeTlsError } from '../core/tls-errors.js';
import { VERSION } from '../core/version.js';
import type { HealthAnswer } from '../protocol/messages.js';
import { ROUTES } from '../protocol/routes.js';
import type { Check } from './doctor-checks.js';

/**
 * The checks of `drover doctor` against the coordinator: reachable (GET /healthz), its version,
 * the clock skew and round trip, and whether it takes the worker's token for the worker routes.
 */

/** Clocks further apart than this, or a slower round trip, are a warning: leases and time limits are judged by the coordinator's clock. */
export const TIME_LIMITS = { skewMs: 2_000, roundTripMs: 2_000 } as const;

/** How to reach the coordinator, as `drover worker` would with the same flags and config. */
export interface Reach {
  url: string;
  /** Where the URL came from: --server, DROVER_SERVER, worker.server or the default. */
  from: string;
  ca?: string;
  clientCert?: { cert: string; key: string };
  timeoutMs: number;
}

/** What GET /healthz of one URL showed. */
export interface Health {
  checks: Check[];
  reached: boolean;
}

export async function checkCoordinator(r: Reach): Promise<Health> {
  const agent = new Agent({ connect: { timeout: Math.min(r.timeoutMs, 5_000), ...(r.ca ? { ca: [...tls.rootCertificates, r.ca] } : {}), ...(r.clientCert ?? {}) } });
  const fixUrl = `start the coordinator, or point --server, DROVER_SERVER or worker.server at it (now ${r.from})`;
  try {
    const t0 = Date.now();
    let res;
    try {
      res = await request(r.url + ROUTES.health.path(), { method: 'GET', dispatcher: agent, headersTimeout: r.timeoutMs, bodyTimeout: r.timeoutMs });
    } catch (err) {
      const tlsWhy = describeTlsError(err, r.url);
      if (tlsWhy) return fail(`${r.url}: ${tlsWhy}`);
      const why = timedOut(err) ? `no answer within ${formatDuration(r.timeoutMs)}` : describeNetError(err);
      // A coordinator with server.tls drops a plain-HTTP request.
      const plain = r.url.startsWith('http://') && why === 'connection reset' ? '; if it serves HTTPS, use https://' : '';
      return fail(`${r.url}: ${why}`, fixUrl + plain);
    }
    const text = await res.body.text();
    const t1 = Date.now();
    let health: Partial<HealthAnswer> = {};
    try {
      health = JSON.parse(text) as Partial<HealthAnswer>;
    } catch {
      // not JSON: not a coordinator
    }
    if (res.statusCode !== 200 || health.ok !== true || typeof health.version !== 'string') {
      return fail(`${r.url}${ROUTES.health.path()} answered HTTP ${res.statusCode}${health.ok === undefined ? ', not a Drover coordinator' : ''}`, fixUrl);
    }
    const checks: Check[] = [];
    const rtt = t1 - t0;
    const head = `${r.url} (${r.from}): drover ${health.version}, round trip ${formatDuration(rtt)}`;
    if (health.version !== VERSION) checks.push({ check: 'coordinator', status: 'warn', message: `${head}; this drover is ${VERSION}`, fix: 'run the same version of drover on the coordinator and its workers' });
    else if (rtt > TIME_LIMITS.roundTripMs) checks.push({ check: 'coordinator', status: 'warn', message: `${head}, slower than ${formatDuration(TIME_LIMITS.roundTripMs)}`, fix: 'check the network between this machine and the coordinator' });
    else checks.push({ check: 'coordinator', status: 'ok', message: head });
    checks.push(clockCheck(r.url, res.headers.date, t0, t1));
    return { checks, reached: true };
  } finally {
    await agent.close();
  }

  function fail(message: string, fix?: string): Health {
    return { checks: [{ check: 'coordinator', status: 'fail', message, ...(fix ? { fix } : {}) }], reached: false };
  }
}

/**
 * The coordinator's clock against ours from its Date header (whole seconds): its time was in
 * [date, date + 1 s) at some moment between our request (t0) and its answer (t1). A warning only
 * when the clocks are surely more than TIME_LIMITS.skewMs apart.
 */
export function clockCheck(url: string, header: string | string[] | undefined, t0: number, t1: number): Check {
  const date = Date.parse(Array.isArray(header) ? (header[0] ?? '') : (header ?? ''));
  if (!Number.isFinite(date)) return { check: 'clock', status: 'warn', message: `${url} sent no Date header: the clocks were not compared`, fix: 'keep the clocks of both machines synchronised (NTP)' };
  const lo = date - t1;
  const hi = date + 1000 - t0;
  const skew = Math.round((lo + hi) / 2);
  const atLeast = lo > 0 ? lo : hi < 0 ? -hi : 0;
  const words = `${(Math.abs(skew) / 1000).toFixed(1)} s ${skew >= 0 ? 'behind' : 'ahead of'} the coordinator's (±${((hi - lo) / 2000).toFixed(1)} s)`;
  if (atLeast > TIME_LIMITS.skewMs) return { check: 'clock', status: 'warn', message: `this machine's clock is ${words}; leases and time limits are judged by the coordinator's clock`, fix: 'synchronise both clocks with NTP (e.g. timedatectl set-ntp true)' };
  return { check: 'clock', status: 'ok', message: `this machine's clock is ${words}` };
}

/** The worker's token, as `drover worker` would send it, and where it came from. */
export interface Credentials {
  token?: string;
  /** --token-file FILE, DROVER_TOKEN, worker.token_file FILE; undefined when none is given. */
  from?: string;
}

/**
 * Whether the coordinator takes the worker's credentials for the worker routes: GET
 * /segment-nodes (role worker, cheap) without any, to know whether it checks tokens at all; then
 * GET /workers/NAME/stops?wait=0 with them (role worker, read only; a token of another worker's
 * name is a 403); then GET /tokens (admin only, not even read tokens) to tell an admin token.
 */
export async function checkToken(r: Reach, cred: Credentials, workerName: string): Promise<Check> {
  const check = 'token';
  const open = await ask(r, {}, (c) => c.segmentNodes());
  if (open === null) return { check, status: 'ok', message: `${r.url} checks no tokens (a coordinator on loopback without server.token_file)${cred.token ? `; the token of ${cred.from} is not needed` : ''}` };
  if (open instanceof ApiError && open.status !== 401) return trouble(open, ROUTES.segmentNodes.path());
  if (!(open instanceof ApiError)) return { check, status: 'fail', message: `GET ${ROUTES.segmentNodes.path()}: ${errorMessage(open)}`, fix: 'run drover doctor again' };
  if (!cred.token && !r.clientCert) return { check, status: 'fail', message: 'no token given, and the coordinator wants one', fix: "give the worker token with DROVER_TOKEN, --token-file FILE or worker.token_file (the worker: line of the coordinator's server.token_file, or drover token add worker NAME)" };
  const as = cred.token ? `the token of ${cred.from}` : 'the client certificate (worker.client_cert)';
  const stops = ROUTES.stops.path(workerName, 0);
  const worker = await ask(r, { ...(cred.token ? { token: cred.token } : {}), ...(r.clientCert ? { clientCert: r.clientCert } : {}) }, (c) => c.stops(workerName, { waitMs: 0 }));
  if (worker instanceof ApiError && worker.status === 401) return refused(as, worker.message);
  if (worker instanceof ApiError && worker.status === 403) return { check, status: 'fail', message: `${as}: ${worker.message}`, fix: "run the worker with the token's name (--name or worker.name), or give it its own token" };
  if (worker !== null) return worker instanceof ApiError ? trouble(worker, stops) : { check, status: 'fail', message: `GET ${stops}: ${errorMessage(worker)}`, fix: 'run drover doctor again' };
  if (!cred.token) return { check, status: 'ok', message: `${as} is taken for the worker routes` };
  const admin = await ask(r, { token: cred.token }, (c) => c.tokens());
  if (admin === null) return { check, status: 'warn', message: `${as} is an admin token: it can do everything, not only run jobs`, fix: 'give the worker a worker token (the worker: line of server.token_file, or drover token add worker NAME)' };
  return { check, status: 'ok', message: `${as} is taken for the worker routes (a worker token)` };

  function refused(who: string, why: string): Check {
    if (/expired/.test(why)) return { check, status: 'fail', message: `${who} has expired (${why})`, fix: 'make a new one with drover token add worker NAME --expires ..., and give it to the worker' };
    if (/read-only/.test(why)) return { check, status: 'fail', message: `${who} is a read-only token: the worker routes need a worker token`, fix: 'give the worker a worker token (drover token add worker NAME)' };
    if (/bearer token is required/.test(why)) return { check, status: 'fail', message: `${who} was not taken: the coordinator does not trust it`, fix: 'give a certificate of server.tls.client_ca, or a worker token' };
    return { check, status: 'fail', message: `the coordinator does not know ${who} (wrong, or revoked)`, fix: "give the worker token of the coordinator's server.token_file (its worker: line), or one of drover token add worker NAME" };
  }

  function trouble(err: ApiError, route: string): Check {
    if (err.status === 429) return { check, status: 'fail', message: err.message, fix: 'wait, then check the token: too many wrong ones came from this address' };
    return { check, status: 'fail', message: `GET ${route} answered HTTP ${err.status}: ${err.message}`, fix: "check the coordinator's log" };
  }
}

/** Null when `call` succeeded; else its error. */
async function ask(r: Reach, auth: { token?: string; clientCert?: { cert: string; key: string } }, call: (c: DroverClient) => Promise<unknown>): Promise<unknown> {
  const client = new DroverClient({ server: r.url, requestTimeoutMs: r.timeoutMs, ...(r.ca ? { ca: r.ca } : {}), ...auth });
  try {
    await call(client);
    return null;
  } catch (err) {
    return err ?? new Error('failed');
  } finally {
    await client.close();
  }
}

function timedOut(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}
