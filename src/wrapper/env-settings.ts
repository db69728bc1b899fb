import { ConfigError } from '../core/errors.js';
import { MANAGER_DEFAULTS, type ManagerSettings } from '../supervise/encoding-manager.js';
import type { Rotation } from '../supervise/rotating-log.js';
import { WRAPPER_DEFAULTS } from './defaults.js';

/** Everything `drover run` takes from its environment: FF WRAPPER's variables and Drover's few. */
export interface WrapperSettings {
  /** WORKDIR, default /tmp/ff_wrapper. */
  workdir: string;
  /** PROGRESS_BUFFER_LEN, lines, default 100,000. */
  progressLines: number;
  /** STDOUT_BUFFER_LEN, lines, default 100,000. */
  stdoutLines: number;
  /** NO_FILE_LOG set: no log files, only the buffers. */
  noFileLog: boolean;
  /** LOG_ROTATION_MODE (days | size, default days), _DAYS (1), _MAX_KBYTES (25,000), _BACKUP (5). */
  rotation: Required<Rotation>;
  /** IS_DEBUG set: the manager's view every tick on stderr. */
  debug: boolean;
  /** MANAGER_START_DELAY and the ENCODING_* variables. */
  manager: ManagerSettings;
  /** API_HOST, default 127.0.0.1. */
  apiHost: string;
  /** API_PORT, default 8000 (`--port` wins). 0 picks a free port. */
  apiPort: number;
  /** API_TOKEN: a bearer token the API asks for; required to listen beyond loopback. */
  apiToken: string | null;
  /** API_TLS_CERT and API_TLS_KEY (PEM files, both or neither): HTTPS; SIGHUP reads them again. Default none. */
  apiTls: { cert: string; key: string } | null;
  /** KILL_GRACE, seconds between SIGTERM and SIGKILL when stopping ffmpeg, default 10. */
  killGraceMs: number;
  /** LOG_TO_STDERR, default on: the command's stdout and stderr lines are passed to ours (the container log). */
  logToStderr: boolean;
}

/**
 * Reads the settings from `env`. A value of the wrong form is a ConfigError naming the variable,
 * the value and the form expected. A flag (NO_FILE_LOG, IS_DEBUG, ENCODING_DISABLE_CHECK, LOG_TO_STDERR) is
 * on for any value but 0, false, no and off; unset or empty, it keeps its default.
 */
export function readWrapperSettings(env: NodeJS.ProcessEnv): WrapperSettings {
  const r = new EnvReader(env);
  const W = WRAPPER_DEFAULTS;
  const M = MANAGER_DEFAULTS;
  const mode = r.text('LOG_ROTATION_MODE', W.rotation.mode);
  if (mode !== 'days' && mode !== 'size') throw new ConfigError(`LOG_ROTATION_MODE=${mode}: expected days or size`);
  const failWhen = r.text('ENCODING_FAIL_WHEN', M.failWhen);
  if (failWhen !== 'all' && failWhen !== 'any') throw new ConfigError(`ENCODING_FAIL_WHEN=${failWhen}: expected all (fps and speed both low, FF WRAPPER's rule) or any`);
  const maxStuckMs = r.seconds('ENCODING_MAX_STDOUT_STUCK_TIME', M.maxStuckMs / 1000, true);
  return {
    workdir: r.text('WORKDIR', W.workdir),
    progressLines: r.count('PROGRESS_BUFFER_LEN', W.progressLines),
    stdoutLines: r.count('STDOUT_BUFFER_LEN', W.stdoutLines),
    noFileLog: r.flag('NO_FILE_LOG'),
    rotation: {
      mode,
      days: r.positive('LOG_ROTATION_DAYS', W.rotation.days),
      maxBytes: Math.round(r.positive('LOG_ROTATION_MAX_KBYTES', W.rotation.maxBytes / 1024) * 1024),
      backups: r.count('LOG_ROTATION_BACKUP', W.rotation.backups, 0),
    },
    debug: r.flag('IS_DEBUG'),
    manager: {
      ...M,
      startDelayMs: r.seconds('MANAGER_START_DELAY', M.startDelayMs / 1000),
      checkStartDelayMs: r.seconds('ENCODING_CHECK_START_DELAY', M.checkStartDelayMs / 1000),
      checkEnabled: !r.flag('ENCODING_DISABLE_CHECK'),
      minSpeed: r.number('ENCODING_MIN_SPEED', M.minSpeed),
      deltaSpeed: r.number('ENCODING_DELTA_SPEED', M.deltaSpeed),
      deltaFps: r.number('ENCODING_DELTA_FPS', M.deltaFps),
      maxErrorMs: r.seconds('ENCODING_MAX_ERROR_TIME', M.maxErrorMs / 1000),
      minBaseFps: r.number('ENCODING_MIN_BASE_FPS', M.minBaseFps),
      maxStuckMs,
      stallMs: r.seconds('ENCODING_MAX_STALL_TIME', maxStuckMs / 1000, true),
      failWhen,
    },
    apiHost: r.text('API_HOST', W.apiHost),
    apiPort: r.port('API_PORT', W.apiPort),
    apiToken: r.text('API_TOKEN', '') || null,
    apiTls: tlsOf(r.text('API_TLS_CERT', ''), r.text('API_TLS_KEY', '')),
    killGraceMs: r.seconds('KILL_GRACE', W.killGraceMs / 1000),
    logToStderr: r.flag('LOG_TO_STDERR', W.logToStderr),
  };
}

function tlsOf(cert: string, key: string): { cert: string; key: string } | null {
  if (!cert && !key) return null;
  if (!cert || !key) throw new ConfigError(`${cert ? 'API_TLS_KEY' : 'API_TLS_CERT'} is not set: HTTPS needs both API_TLS_CERT and API_TLS_KEY (PEM files)`);
  return { cert, key };
}

class EnvReader {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  text(name: string, dflt: string): string {
    const v = this.env[name];
    return v === undefined || v === '' ? dflt : v;
  }

  /** Unset or empty: `dflt`. */
  flag(name: string, dflt = false): boolean {
    const v = (this.env[name] ?? '').trim().toLowerCase();
    if (v === '') return dflt;
    return !['0', 'false', 'no', 'off'].includes(v);
  }

  number(name: string, dflt: number, form = 'a number, e.g. 0.85'): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') return dflt;
    const n = Number(v.trim());
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name}=${v}: expected ${form} (not negative)`);
    return n;
  }

  positive(name: string, dflt: number): number {
    const n = this.number(name, dflt, 'a number above 0');
    if (n <= 0) throw new ConfigError(`${name}=${this.env[name]}: expected a number above 0`);
    return n;
  }

  /** Seconds (fractions allowed) in, ms out. `above0`: 0 is refused too. */
  seconds(name: string, dflt: number, above0 = false): number {
    const n = this.number(name, dflt, 'seconds, e.g. 10 or 2.5');
    if (above0 && n <= 0) throw new ConfigError(`${name}=${this.env[name]}: expected seconds above 0`);
    return Math.round(n * 1000);
  }

  count(name: string, dflt: number, min = 1): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') return dflt;
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name}=${v}: expected a whole number of ${min} or more`);
    return n;
  }

  port(name: string, dflt: number): number {
    const v = this.env[name];
    if (v === undefined || v.trim() === '') return dflt;
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name}=${v}: expected a port number from 0 to 65535`);
    return n;
  }
}
