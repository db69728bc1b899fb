import fs from 'node:fs';
import path from 'node:path';
import { spawnDrover, type DroverProcess } from '../support/drover.js';
import { onCleanup, tempDir, waitFor } from '../support/tmp.js';

export interface RunningWrapper extends DroverProcess {
  workdir: string;
  /** The status API's base URL. */
  url: string;
  ffmpegPid: number;
  get(pathAndQuery: string): Promise<{ status: number; text: string; type: string }>;
}

/** A real-time ffmpeg on a lavfi test source: 25 fps, tiny frames, `seconds` long. */
export function liveFfmpeg(seconds = 60, extra: string[] = []): string[] {
  return ['ffmpeg', '-hide_banner', '-re', '-f', 'lavfi', '-i', `testsrc=size=160x120:rate=25`, '-t', String(seconds), ...extra, '-f', 'null', '-'];
}

/**
 * Starts `drover run` with its own WORKDIR and a free API port (API_PORT=0); resolves once the
 * API listens and the command runs. The command's group is killed after the test.
 */
export async function startWrapper(command: string[], env: Record<string, string> = {}, workdir = path.join(tempDir('drover-run-'), 'wd')): Promise<RunningWrapper> {
  const cwd = path.dirname(workdir);
  const p = spawnDrover(['run', '--', ...command], { cwd, env: { WORKDIR: workdir, API_PORT: '0', ...env } });
  let ffmpegPid = 0;
  onCleanup(() => {
    if (ffmpegPid > 1) {
      try {
        process.kill(-ffmpegPid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
  const m = await waitFor(() => /status API on (https?:\/\/\S+)[\s\S]*started pid (\d+)/.exec(p.output()) ?? (p.proc.exitCode !== null ? Promise.reject(new Error(p.output())) : null), 15_000, 'drover run to start');
  ffmpegPid = Number(m[2]);
  const url = m[1] as string;
  return {
    ...p,
    workdir,
    url,
    ffmpegPid,
    async get(q) {
      const res = await fetch(url + q);
      return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
    },
  };
}

/** Runs `drover run` expected to refuse to start; resolves with its exit code and output. */
export async function failedStart(command: string[], env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; output: string }> {
  const dir = tempDir('drover-run-');
  const p = spawnDrover(['run', ...args, '--', ...command], { cwd: dir, env: { WORKDIR: path.join(dir, 'wd'), API_PORT: '0', ...env } });
  const code = await p.exited;
  return { code, output: p.output() };
}

export function readStatus(workdir: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(workdir, 'status', 'status.json'), 'utf8')) as Record<string, unknown>;
}
