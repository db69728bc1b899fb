import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stderr. Level from `DROVER_LOG_LEVEL` (default `info`).
 * Secrets never reach here: callers log redacted values only.
 */
export function createLogger(name: string, level = process.env.DROVER_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
