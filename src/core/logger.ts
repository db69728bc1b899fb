import pino, { type Logger } from 'pino';
import { ValidationError } from './errors.js';

/** `json`: one pino JSON object per line; `human`: `HH:MM:SS level message key=value ...`. */
export type LogFormat = 'json' | 'human';

/**
 * Logs on stderr. Level from `DROVER_LOG_LEVEL` (default `info`). Format as given, else
 * `DROVER_LOG_FORMAT`, else human on a terminal and JSON otherwise (a file, journald, a pipe).
 * Secrets never reach here: callers log redacted values only.
 */
export function createLogger(name: string, o: { level?: string; format?: string } = {}): Logger {
  const level = o.level ?? process.env.DROVER_LOG_LEVEL ?? 'info';
  const format = logFormatOf(o.format ?? process.env.DROVER_LOG_FORMAT);
  const opts = { name, level, base: { pid: process.pid } };
  if (format === 'human') return pino(opts, { write: (line: string) => void process.stderr.write(humanLine(line)) });
  return pino(opts, pino.destination({ dest: 2, sync: false }));
}

/**
 * What the program says once at start (where it listens, the tokens it made), whatever the
 * level: `drover: TEXT` in human format, a JSON line like the log's own in json format, so a
 * collector of JSON lines gets nothing else.
 */
export function announce(name: string, format: string | undefined, text: string): void {
  if (logFormatOf(format ?? process.env.DROVER_LOG_FORMAT) === 'human') return void process.stderr.write(`drover: ${text}\n`);
  process.stderr.write(JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, name, msg: text }) + '\n');
}

export function logFormatOf(v: string | undefined): LogFormat {
  if (v === undefined || v === '') return process.stderr.isTTY ? 'human' : 'json';
  if (v === 'json' || v === 'human') return v;
  throw new ValidationError(`--log-format: expected json or human, got "${v}"`);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields, said by the line's layout or not at all. */
const OWN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** One pino JSON line as a human one: local time, level, message, then the other fields. */
export function humanLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const t = new Date(typeof rec.time === 'number' ? rec.time : Date.now());
  const hms = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const level = LEVELS[rec.level as number] ?? String(rec.level);
  const fields = Object.entries(rec)
    .filter(([k]) => !OWN.has(k))
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  return [hms, level.padEnd(5), String(rec.msg ?? ''), ...fields].join(' ').trimEnd() + '\n';
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v && typeof v === 'object' && 'message' in v && typeof (v as { message: unknown }).message === 'string') return JSON.stringify((v as { message: string }).message);
  return JSON.stringify(v);
}
