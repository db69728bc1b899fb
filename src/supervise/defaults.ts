/** Defaults of supervised processes, once: spawn, the ffmpeg session, templates and `drover run` take these. */
export const SUPERVISE_DEFAULTS = {
  /** Between SIGTERM and SIGKILL when stopping, ms. */
  killGraceMs: 10_000,
  /** Lines of output a supervised process keeps for its `tail`. */
  tailLines: 50,
  /** Of those, what a failed job's error shows (exec and ffmpeg jobs, drover run). */
  errorTailLines: 20,
  /** After the leader exits, how long its pipes may stay open, ms. */
  drainMs: 2_000,
  /** Lines (and progress blocks) kept in memory: FF WRAPPER's STDOUT_BUFFER_LEN and PROGRESS_BUFFER_LEN. */
  bufferLines: 100_000,
} as const;
