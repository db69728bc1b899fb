import { defaultWorkerName } from '../agent/defaults.js';
import { workerSettingsOf, type LoadedConfig, type WorkerSettings } from '../config/config.js';
import { parseDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { redactUrlSecrets } from '../core/redact-url.js';
import { caOf, configOf, serverOf, tokenOf } from './client-context.js';
import { checkBinary, checkDir, ffmpegBinariesOf, readClientCert, workerDirsOf, type Check } from './doctor-checks.js';
import { checkCoordinator, checkToken, type Credentials, type Reach } from './doctor-remote.js';
import { CLIENT_TIMEOUT, type ClientFlags } from './flags.js';

export interface DoctorFlags extends ClientFlags {
  outputRoot?: string;
  name?: string;
  json?: boolean;
}

/**
 * `drover doctor`: checks this machine's worker setup (ffmpeg, directories, the coordinator, the
 * token) as `drover worker` with the same flags, environment and drover.yaml would use it. One
 * line per check; exit 1 when one failed.
 */
export async function doctorAction(flags: DoctorFlags): Promise<void> {
  const secrets: string[] = process.env.DROVER_TOKEN?.trim() ? [process.env.DROVER_TOKEN.trim()] : [];
  const checks = await runChecks(flags, secrets);
  const clean = checks.map((c) => ({ ...c, message: hide(c.message, secrets), ...(c.fix ? { fix: hide(c.fix, secrets) } : {}) }));
  const failed = clean.some((c) => c.status === 'fail');
  if (flags.json) process.stdout.write(JSON.stringify({ ok: !failed, checks: clean }, null, 2) + '\n');
  else process.stdout.write(formatChecks(clean));
  if (failed) process.exitCode = 1;
}

/** One line per check: `STATUS  CHECK  MESSAGE -> WHAT TO DO` (STATUS ok, warn or FAIL; no `->` part when all is well). */
export function formatChecks(checks: Check[]): string {
  const width = Math.min(20, Math.max(...checks.map((c) => c.check.length)));
  const label = { ok: 'ok', warn: 'warn', fail: 'FAIL' } as const;
  return checks.map((c) => `${label[c.status].padEnd(4)}  ${c.check.padEnd(width)}  ${c.message}${c.fix ? ` -> ${c.fix}` : ''}\n`).join('');
}

async function runChecks(flags: DoctorFlags, secrets: string[]): Promise<Check[]> {
  let loaded: LoadedConfig;
  let w: WorkerSettings;
  try {
    loaded = configOf(flags);
    w = workerSettingsOf(loaded.config.worker);
  } catch (err) {
    return [{ check: 'config', status: 'fail', message: errorMessage(err), fix: 'fix drover.yaml (or --config, DROVER_CONFIG) and run drover doctor again' }];
  }
  const checks: Check[] = [{ check: 'config', status: 'ok', message: loaded.file ?? 'no drover.yaml here: the defaults' }];
  const local = Promise.all(ffmpegBinariesOf(w, (loaded.config.worker as Record<string, unknown>).ffmpeg as Record<string, unknown> | undefined).map(checkBinary));
  const dirs = workerDirsOf(w, flags.outputRoot ?? w.outputRoot).map(checkDir);
  const remote = remoteChecks(flags, loaded, w, secrets);
  checks.push(...(await local), ...dirs, ...(await remote));
  return checks;
}

async function remoteChecks(flags: DoctorFlags, loaded: LoadedConfig, w: WorkerSettings, secrets: string[]): Promise<Check[]> {
  const out: Check[] = [];
  let timeoutMs: number;
  let ca: string | undefined;
  try {
    const timeout = flags.timeout ?? (process.env.DROVER_TIMEOUT || CLIENT_TIMEOUT);
    timeoutMs = parseDuration(timeout, flags.timeout !== undefined ? '--timeout' : 'DROVER_TIMEOUT');
    ca = caOf(flags, w.caFile);
  } catch (err) {
    return [{ check: 'coordinator', status: 'fail', message: errorMessage(err), fix: 'fix the option or setting it names' }];
  }
  const cert = readClientCert(w.clientCert);
  if (cert && 'status' in cert) out.push(cert);
  const clientCert = cert && !('status' in cert) ? cert : undefined;
  const from = flags.server ? '--server' : process.env.DROVER_SERVER ? 'DROVER_SERVER' : loaded.config.worker.server ? 'worker.server' : 'the default';
  const urls = serverOf(flags, w.server).split(',').map((s) => s.trim().replace(/\/+$/, '')).filter((s) => s.length > 0);
  const reaches: Reach[] = [];
  for (const url of urls) {
    if (!/^https?:\/\/[^/]/.test(url)) {
      out.push({ check: 'coordinator', status: 'fail', message: `"${url}" (${from}) is not an http:// or https:// URL`, fix: 'give e.g. http://HOST:7070' });
      continue;
    }
    reaches.push({ url, from, timeoutMs, ...(ca ? { ca } : {}), ...(clientCert ? { clientCert } : {}) });
  }
  if (reaches.length === 0 && urls.length === 0) out.push({ check: 'coordinator', status: 'fail', message: `no coordinator URL (${from})`, fix: 'give --server, DROVER_SERVER or worker.server' });
  const health = await Promise.all(reaches.map(checkCoordinator));
  for (const h of health) out.push(...h.checks);
  let cred: Credentials;
  try {
    cred = credentialsOf(flags, w);
    if (cred.token) secrets.push(cred.token);
  } catch (err) {
    out.push({ check: 'token', status: 'fail', message: errorMessage(err), fix: 'fix the token file, or give the token with DROVER_TOKEN' });
    return out;
  }
  const first = reaches.find((_, i) => health[i]?.reached);
  if (first) out.push(await checkToken(first, cred, flags.name ?? w.name ?? defaultWorkerName()));
  else out.push({ check: 'token', status: 'warn', message: `not checked: no coordinator answered${cred.from ? ` (the token of ${cred.from})` : ''}`, fix: 'fix the coordinator first' });
  return out;
}

/** The worker token as `drover worker` takes it (tokenOf), and where from, for the messages. */
function credentialsOf(flags: DoctorFlags, w: WorkerSettings): Credentials {
  const token = tokenOf(flags, 'worker', w.tokenFile);
  if (!token) return {};
  const from = flags.tokenFile ? `--token-file ${flags.tokenFile}` : process.env.DROVER_TOKEN ? 'DROVER_TOKEN' : `worker.token_file ${w.tokenFile ?? ''}`;
  return { token, from };
}

/** `text` without credentials in URLs, and without any token this run read (`secrets`), even in an error from elsewhere. */
function hide(text: string, secrets: string[]): string {
  let t = redactUrlSecrets(text);
  for (const s of secrets) if (s.length > 0) t = t.split(s).join('***');
  return t;
}
