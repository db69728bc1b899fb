import type { WrapperStatus, WrapperView } from './status-api.js';

/** [name, help, value]; a value not known yet (null) is written as 0, as prom-client's reset gauges were. */
type Gauge = [string, string, (s: WrapperStatus) => number | null];

const GAUGES: Gauge[] = [
  ['drover_ffmpeg_up', '1 while ffmpeg runs', (s) => (s.state === 'ended' ? 0 : 1)],
  ['drover_ffmpeg_fps', 'Current frames per second (from recent progress blocks)', (s) => s.fps],
  ['drover_ffmpeg_speed', 'Current speed, media seconds per second', (s) => s.speed],
  ['drover_ffmpeg_output_bytes_per_second', 'Current output rate', (s) => s.bytesPerSec],
  ['drover_ffmpeg_frames', 'Frames written', (s) => s.frame],
  ['drover_ffmpeg_output_bytes', 'Bytes written', (s) => s.totalSize],
  ['drover_ffmpeg_media_seconds', 'Media time written', (s) => s.mediaSeconds],
  ['drover_ffmpeg_baseline_fps', "The manager's baseline fps", (s) => s.baselineFps],
  ['drover_ffmpeg_failing', '1 while a problem holds or after the stream failed', (s) => (s.manager === 'failing' || s.manager === 'failed' ? 1 : 0)],
];

/**
 * `/metrics` of `drover run` in Prometheus' text format (version 0.0.4): a dozen gauges read
 * from the view when scraped. Written out here rather than with prom-client, which alone would
 * add 11 MB to a supervisor that runs once per container.
 */
export function metricsText(v: WrapperView): string {
  const s = v.status();
  const cpu = process.cpuUsage();
  const own: Array<[string, string, number]> = [
    ['drover_wrapper_cpu_seconds', 'CPU used by the wrapper itself (user + system)', (cpu.user + cpu.system) / 1e6],
    ['drover_wrapper_resident_bytes', 'Resident memory of the wrapper', process.memoryUsage.rss()],
    ['drover_wrapper_buffered_lines', 'Lines held in the buffers', v.bufferedLines()],
  ];
  let out = '';
  for (const [name, help, value] of [...GAUGES.map(([n, h, f]): [string, string, number | null] => [n, h, f(s)]), ...own]) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
    out += `${name} ${value !== null && Number.isFinite(value) ? value : 0}\n`;
  }
  return out;
}
