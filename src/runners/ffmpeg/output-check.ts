import path from 'node:path';
import { probeFile } from './probe.js';

/** Files taken for media by their extension; others an ffmpeg job writes (a list, a note) are not looked at. */
const MEDIA = /\.(mp4|m4v|m4a|mov|mkv|mka|webm|ts|m2ts|mts|mpg|mpeg|flv|avi|3gp|mp3|aac|wav|flac|ogg|opus)$/i;

/** The media an output may lack against what was expected before it counts as cut short: 1 s or 5 %, whichever is more. */
export function shortfallAllowed(expectedSeconds: number): number {
  return Math.max(1, expectedSeconds * 0.05);
}

/**
 * Why the files an ffmpeg that exited 0 wrote are not what was asked, or null when they are:
 * a file ffprobe cannot read, or (with `expected`: the input's duration or `-t`, seconds) less
 * media in all of them together than expected. ffmpeg ends with 0 when its input ends early,
 * e.g. an HTTP server that closes the connection mid-file, leaving a short file that looks done.
 * Only media files by extension are looked at; one without a duration counts for nothing.
 */
export async function checkOutputs(o: { ffprobe: string; files: string[]; expected: { seconds: number; from: string } | null; signal: AbortSignal }): Promise<string | null> {
  let total = 0;
  let timed = 0;
  for (const file of o.files.filter((f) => MEDIA.test(f))) {
    const p = await probeFile(o.ffprobe, file, o.signal);
    if (o.signal.aborted) return null;
    if (p.error !== null) return `output ${path.basename(file)} is not media ffprobe can read: ${p.error}`;
    if (p.duration !== null) {
      total += p.duration;
      timed++;
    }
  }
  if (o.expected === null || timed === 0) return null;
  if (total >= o.expected.seconds - shortfallAllowed(o.expected.seconds)) return null;
  return `output has ${total.toFixed(1)} s of media where ${o.expected.seconds.toFixed(1)} s were expected (${o.expected.from}): the input ended early (a server that closed the connection, or that takes no Range?)`;
}
