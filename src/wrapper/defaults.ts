import { SUPERVISE_DEFAULTS } from '../supervise/defaults.js';
import { ROTATION_DEFAULTS } from '../supervise/rotating-log.js';

/** `drover run`'s defaults: FF WRAPPER's documented ones (WORKDIR, buffers, daily rotation with 5 backups, port 8000). */
export const WRAPPER_DEFAULTS = {
  workdir: '/tmp/ff_wrapper',
  progressLines: SUPERVISE_DEFAULTS.bufferLines,
  stdoutLines: SUPERVISE_DEFAULTS.bufferLines,
  rotation: { ...ROTATION_DEFAULTS, mode: 'days' },
  apiHost: '127.0.0.1',
  apiPort: 8000,
  killGraceMs: SUPERVISE_DEFAULTS.killGraceMs,
  logToStderr: true,
  /** Lines of the command's output shown when it fails and its output was not passed through. */
  failureTailLines: SUPERVISE_DEFAULTS.errorTailLines,
} as const;
