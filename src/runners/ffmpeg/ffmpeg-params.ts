import type { Params } from '../../core/job.js';
import { parseDest, type Dest } from '../shared/destination.js';
import { notPlainFileName } from '../shared/file-name.js';
import { paramReader } from '../shared/param-reader.js';

/** What an ffmpeg job without a template asks for, checked. */
export interface FfmpegParams {
  /** A network input; local files and ffmpeg's other protocols are not reachable from a job. */
  input: string;
  /** The output file's name, inside the job's directory. */
  output: string;
  /** Where finished files go; null keeps them in the job's directory under output_root. */
  dest: Dest | null;
  /** Seconds to record (`-t`); null for all of it. */
  duration: number | null;
  videoCodec: string;
  audioCodec: string;
  /** Output format (`-f`); null lets ffmpeg pick it from the output's extension. */
  format: string | null;
  /** rtsp inputs: `tcp` or `udp` (`-rtsp_transport`); null for ffmpeg's default. */
  rtspTransport: 'tcp' | 'udp' | null;
  /** A live recording: restarted with backoff when it fails or ends. */
  live: boolean;
}

/** Every param an ffmpeg job without a template may have. */
export const FFMPEG_PARAMS = ['input', 'output', 'dest', 'duration', 'video_codec', 'audio_codec', 'format', 'rtsp_transport', 'live'] as const;
/** What an ffmpeg job from a template may give beside the template's own params: where its files go, and whether it is live. */
export const FFMPEG_TEMPLATE_PARAMS = ['dest', 'live'] as const;

/** Schemes a job may give as `input`. Not file:, not lavfi or the other devices of the worker. */
const INPUT_SCHEMES = new Set(['http', 'https', 'rtsp', 'rtsps', 'rtmp', 'rtmps', 'srt', 'udp', 'tcp']);
const NAME = /^[A-Za-z0-9_]{1,32}$/;
/**
 * What ffmpeg may open for a job's input, nested opens included: without it a `tcp://` input
 * could hand over a playlist of `file:` segments (http sets such a list itself, tcp does not).
 */
export const INPUT_PROTOCOLS = 'http,https,tls,tcp,udp,rtp,rtsp,rtsps,rtmp,rtmps,srt,crypto,httpproxy';
/** Output formats that write somewhere other than the output file. */
const FORBIDDEN_FORMATS = new Set(['tee', 'rtp', 'rtsp', 'rtp_mpegts']);

/** `input` is secret when it carries a password (rtsp://user:pass@camera/...) or a query (?token=, ?passphrase=). */
export function ffmpegSecretsOf(p: Params): string[] {
  return typeof p.input === 'string' && (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(p.input) || p.input.includes('?')) ? ['input'] : [];
}

/** Checks an ffmpeg job's params (enqueue and worker); errors name `params.FIELD`. */
export function parseFfmpegParams(p: Params, field = 'params'): FfmpegParams {
  const { fail, str } = paramReader(p, field);
  const input = str('input') ?? fail('input', 'required: the URL to read, e.g. rtsp://camera/stream');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input)?.[1]?.toLowerCase();
  // Not echoed: it may carry a password.
  if (!scheme) fail('input', 'not a URL (expected e.g. rtsp://camera/stream or https://host/video.m3u8)');
  if (!INPUT_SCHEMES.has(scheme as string)) fail('input', `scheme ${scheme} is not allowed (allowed: ${[...INPUT_SCHEMES].join(', ')})`);
  if (/[\s\u0000-\u001f]/.test(input)) fail('input', 'must not contain spaces or control characters');

  const output = str('output') ?? fail('output', 'required: the file name to write, e.g. cam1.mp4');
  const odd = notPlainFileName(output);
  if (odd) fail('output', odd);
  // Not an option to ffmpeg, which takes its output as an argument.
  if (output.startsWith('-')) fail('output', `${JSON.stringify(output)} is not a plain file name (it must not start with -)`);
  const format = str('format') ?? null;
  if (format !== null && (!NAME.test(format) || FORBIDDEN_FORMATS.has(format))) fail('format', `"${format}" is not a format a job may write`);
  if (format === null && !/\.[A-Za-z0-9]{1,8}$/.test(output)) fail('output', 'needs an extension (e.g. .mp4, .mkv, .ts) or a `format` param');

  const codec = (name: string): string => {
    const v = str(name) ?? 'copy';
    if (!NAME.test(v)) fail(name, `"${v}" is not a codec name`);
    return v;
  };
  let duration: number | null = null;
  if (p.duration !== undefined) {
    const n = typeof p.duration === 'string' ? Number(p.duration) : p.duration;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) fail('duration', 'seconds, a number above 0');
    duration = n as number;
  }
  const transport = str('rtsp_transport') ?? null;
  if (transport !== null && transport !== 'tcp' && transport !== 'udp') fail('rtsp_transport', 'tcp or udp');
  const live = p.live === undefined ? false : p.live === true || p.live === 'true' ? true : p.live === false || p.live === 'false' ? false : fail('live', 'true or false');
  const destRaw = str('dest');
  return {
    input,
    output,
    dest: destRaw === undefined ? null : parseDest(destRaw, field),
    duration,
    videoCodec: codec('video_codec'),
    audioCodec: codec('audio_codec'),
    format,
    rtspTransport: transport as FfmpegParams['rtspTransport'],
    live,
  };
}

/** The argv for these params, writing to `outPath`. */
export function ffmpegArgv(binary: string, p: FfmpegParams, outPath: string): string[] {
  const argv = [binary, '-hide_banner', '-y'];
  if (p.rtspTransport) argv.push('-rtsp_transport', p.rtspTransport);
  argv.push('-protocol_whitelist', INPUT_PROTOCOLS, '-i', p.input);
  if (p.duration !== null) argv.push('-t', String(p.duration));
  argv.push('-c:v', p.videoCodec, '-c:a', p.audioCodec);
  if (p.format !== null) argv.push('-f', p.format);
  argv.push(outPath);
  return argv;
}
