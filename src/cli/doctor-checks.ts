import { execFile, type ExecFileException } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkerSettings } from '../config/config.js';
import { errorMessage } from '../core/errors.js';
import { formatBytes } from './format.js';

/**
 * The checks of `drover doctor` on this machine: the ffmpeg and ffprobe the worker runs, and the
 * directories it writes to. Nothing here changes the machine but one temporary file per directory,
 * created and deleted at once.
 */

export type Status = 'ok' | 'warn' | 'fail';

/** One line of `drover doctor`: what was checked, how it went, and what to do when it did not. */
export interface Check {
  check: string;
  status: Status;
  message: string;
  fix?: string;
}

/** Under either of these a directory's filesystem is nearly full. */
export const LOW_SPACE = { bytes: 1024 ** 3, fraction: 0.05 } as const;

const VERSION_TIMEOUT_MS = 10_000;

// ---- ffmpeg and ffprobe ------------------------------------------------------------------------

/** The ffmpeg kind's binaries, from the worker's resolved `worker.ffmpeg` (the defaults when unset). */
export function ffmpegBinariesOf(w: WorkerSettings, raw: Record<string, unknown> | undefined): Array<{ check: string; bin: string; key: string; configured: boolean }> {
  const s = w.kinds.get('ffmpeg') as { ffmpeg?: unknown; ffprobe?: unknown } | undefined;
  const ffmpeg = typeof s?.ffmpeg === 'string' ? s.ffmpeg : 'ffmpeg';
  const ffprobe = typeof s?.ffprobe === 'string' ? s.ffprobe : 'ffprobe';
  return [
    { check: 'ffmpeg', bin: ffmpeg, key: 'worker.ffmpeg.binary', configured: raw?.binary !== undefined },
    { check: 'ffprobe', bin: ffprobe, key: 'worker.ffmpeg.ffprobe', configured: raw?.ffprobe !== undefined },
  ];
}

/** Where `bin` is: a path as given (relative to the working directory), else the first executable file of that name on PATH. */
export function locateBinary(bin: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const executable = (f: string) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (bin.includes('/')) return path.resolve(bin);
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const f = path.join(dir, bin);
    if (executable(f)) return f;
  }
  return null;
}

/** A binary found, run with `-version` (argv, no shell), its first line reported. */
export async function checkBinary(b: { check: string; bin: string; key: string; configured: boolean }): Promise<Check> {
  const where = b.configured ? b.key : 'PATH';
  const fix = `install ffmpeg (e.g. apt-get install ffmpeg) or set ${b.key} to its path`;
  const file = locateBinary(b.bin);
  if (file === null) return { check: b.check, status: 'fail', message: `"${b.bin}" is not on PATH`, fix };
  if (!fs.existsSync(file)) return { check: b.check, status: 'fail', message: `${file} (${where}) does not exist`, fix };
  const run = await new Promise<{ err: ExecFileException | null; stdout: string; stderr: string }>((resolve) => {
    execFile(file, ['-version'], { timeout: VERSION_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => resolve({ err, stdout: String(stdout), stderr: String(stderr) }));
  });
  if (run.err) {
    const why = run.err.code === 'EACCES' ? 'is not executable' : `does not run with -version: ${firstLine(run.stderr) || errorMessage(run.err)}`;
    return { check: b.check, status: 'fail', message: `${file} (${where}) ${why}`, fix };
  }
  const version = firstLine(run.stdout);
  if (!version.startsWith(`${b.check} version`)) return { check: b.check, status: 'warn', message: `${file} (${where}) answers -version with "${version.slice(0, 100)}", not "${b.check} version ..."`, fix: `check that ${b.key} is ${b.check}` };
  return { check: b.check, status: 'ok', message: `${file}: ${version}` };
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim().length > 0) ?? '').trim();
}

// ---- directories -------------------------------------------------------------------------------

/** A directory the worker writes to, with the settings that name it (one path may be several: output_root and the default destination). */
export interface WorkerDir {
  dir: string;
  keys: string[];
}

/** Every directory the worker config names: output_root, log_dir, each destination, download.tempdir, segments.dir. */
export function workerDirsOf(w: WorkerSettings, outputRoot: string): WorkerDir[] {
  const named: Array<[string, string]> = [
    [path.resolve(outputRoot), 'worker.output_root'],
    [w.logDir, 'worker.log_dir'],
    ...[...w.setup.destinations].map(([name, dir]): [string, string] => [dir, `worker.destinations.${name}`]),
  ];
  const download = w.kinds.get('download') as { tempDir?: unknown } | undefined;
  if (typeof download?.tempDir === 'string') named.push([download.tempDir, 'worker.download.tempdir']);
  const segments = w.kinds.get('mirror') as { dir?: unknown } | undefined;
  if (typeof segments?.dir === 'string') named.push([segments.dir, 'worker.segments.dir']);
  const byDir = new Map<string, string[]>();
  for (const [dir, key] of named) byDir.set(dir, [...(byDir.get(dir) ?? []), key]);
  return [...byDir].map(([dir, keys]) => ({ dir, keys }));
}

/** Whether the worker can write to `d.dir` (a file created and deleted in it), and the free space of its filesystem. */
export function checkDir(d: WorkerDir): Check {
  const check = d.keys.map((k) => k.replace(/^worker\./, '')).join(', ');
  const fixDir = `make ${d.dir} a directory the worker's user can write to, or point ${d.keys[0]} elsewhere`;
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(d.dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return { check, status: 'fail', message: `${d.dir} cannot be created: ${fileOnTheWay(d.dir) ?? 'a part of it'} is not a directory`, fix: fixDir };
    if (code !== 'ENOENT') return { check, status: 'fail', message: `${d.dir}: ${errorMessage(err)}`, fix: fixDir };
  }
  if (st && !st.isDirectory()) return { check, status: 'fail', message: `${d.dir} is not a directory`, fix: fixDir };
  // A missing directory is made on first use: the nearest existing one must take it.
  const at = st ? d.dir : nearestExisting(d.dir);
  if (!fs.statSync(at).isDirectory()) return { check, status: 'fail', message: `${d.dir} cannot be created: ${at} is not a directory`, fix: fixDir };
  const written = tryWrite(at);
  if (written !== null) return { check, status: 'fail', message: `${st ? d.dir : `${d.dir} cannot be created: ${at}`} is not writable (${written})`, fix: fixDir };
  const space = freeSpace(at);
  if (!st) {
    // A destination or segment tree that is not there may be a disk that is not mounted.
    const data = d.keys.some((k) => k.startsWith('worker.destinations.') || k === 'worker.segments.dir');
    const message = `${d.dir} does not exist yet (made on first use; ${at} has ${space.text})`;
    if (data || space.low) return { check, status: 'warn', message, fix: space.low ? 'free some space or use a bigger disk' : `create it, or mount its disk if it is one (else jobs fill the disk of ${at})` };
    return { check, status: 'ok', message };
  }
  if (space.low) return { check, status: 'warn', message: `${d.dir}: writable, only ${space.text}`, fix: 'free some space or use a bigger disk' };
  return { check, status: 'ok', message: `${d.dir}: writable, ${space.text}` };
}

function nearestExisting(dir: string): string {
  let p = path.dirname(dir);
  while (!fs.existsSync(p) && path.dirname(p) !== p) p = path.dirname(p);
  return p;
}

/** The first part of `dir` that exists and is not a directory. */
function fileOnTheWay(dir: string): string | null {
  const parts = dir.split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join(path.sep);
    try {
      if (!fs.statSync(p).isDirectory()) return p;
    } catch {
      return null;
    }
  }
  return null;
}

/** Null when a file could be created in `dir` and deleted again; else why not. */
function tryWrite(dir: string): string | null {
  const file = path.join(dir, `.drover-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.writeFileSync(file, 'drover doctor\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? errorMessage(err);
  }
  try {
    fs.unlinkSync(file);
  } catch (err) {
    return `created ${file} but cannot delete it: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`;
  }
  return null;
}

function freeSpace(dir: string): { text: string; low: boolean } {
  try {
    const s = fs.statfsSync(dir);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const fraction = total > 0 ? free / total : 1;
    return { text: `${formatBytes(free)} (${Math.floor(fraction * 100)} %) free`, low: free < LOW_SPACE.bytes || fraction < LOW_SPACE.fraction };
  } catch (err) {
    return { text: `free space unknown (${errorMessage(err)})`, low: false };
  }
}

// ---- the worker's client certificate -----------------------------------------------------------

/** `worker.client_cert` and `client_key` (mutual TLS), read; null when none is set. */
export function readClientCert(files: { cert: string; key: string } | undefined): { cert: string; key: string } | Check | null {
  if (!files) return null;
  const out: Record<string, string> = {};
  for (const [what, file] of [['cert', files.cert], ['key', files.key]] as const) {
    try {
      out[what] = fs.readFileSync(file, 'utf8');
    } catch (err) {
      return { check: 'client certificate', status: 'fail', message: `worker.client_${what}: cannot read ${file}: ${errorMessage(err)}`, fix: 'make one with drover tls client DIR NAME, and give its files to the worker' };
    }
  }
  return { cert: out.cert as string, key: out.key as string };
}
