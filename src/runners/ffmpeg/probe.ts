import { execFile } from 'node:child_process';
import { errorMessage } from '../../core/errors.js';

/**
 * The input's duration in seconds from ffprobe (`options` before the input), or null when it has none (a live stream), the
 * probe fails or takes longer than `timeoutMs` (default 15 s). Never throws: percent is a nicety.
 */
export function probeDuration(ffprobe: string, input: string, options: string[], signal: AbortSignal, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve) => {
    execFile(ffprobe, ['-v', 'error', ...options, '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', input], { timeout: timeoutMs, signal, killSignal: 'SIGKILL' }, (err, stdout) => {
      const n = Number(String(stdout).trim());
      resolve(!err && Number.isFinite(n) && n > 0 ? n : null);
    });
  });
}

/**
 * What an ffmpeg argv reads and for how long: the first `-i` (null when a `-f` names its format:
 * a device, a filter graph, raw input, which ffprobe cannot open alone) and the last `-t`
 * in seconds (null without one, or in a form other than plain seconds).
 */
export function inputAndLimit(argv: string[]): { input: string | null; limit: number | null } {
  const i = argv.indexOf('-i');
  const format = i > 1 && argv[i - 2] === '-f' ? argv[i - 1] : undefined;
  const input = i >= 0 && format === undefined ? (argv[i + 1] ?? null) : null;
  const t = argv.lastIndexOf('-t');
  const limit = t >= 0 && t > i ? Number(argv[t + 1]) : NaN;
  return { input, limit: Number.isFinite(limit) && limit > 0 ? limit : null };
}

/** What ffprobe makes of a file: its duration (null: none, e.g. an image), or the error it gave. */
export function probeFile(ffprobe: string, file: string, signal: AbortSignal, timeoutMs = 15_000): Promise<{ duration: number | null; error: string | null }> {
  return new Promise((resolve) => {
    execFile(ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file], { timeout: timeoutMs, signal, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) return resolve({ duration: null, error: String(stderr).trim().split('\n').pop() || errorMessage(err) });
      const n = Number(String(stdout).trim());
      resolve({ duration: Number.isFinite(n) && n > 0 ? n : null, error: null });
    });
  });
}

/** Options after which an output's length is not the input's or `-t`'s: a seek, an end time, a frame count, a filter, a loop. */
const LENGTH_CHANGERS = /^-(ss|sseof|to|frames(:.*)?|vframes|aframes|dframes|filter(_complex|_script)?(:.*)?|vf|af|lavfi|stream_loop|itsscale|shortest|fs)$/;

/** Whether a template's argv holds an option that makes its output shorter or longer than its input or `-t` on purpose. */
export function changesLength(argv: string[]): boolean {
  return argv.some((a) => LENGTH_CHANGERS.test(a));
}
