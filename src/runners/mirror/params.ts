import type { Params } from '../../core/job.js';
import { ValidationError } from '../../core/errors.js';
import type { MirrorOptions } from '../../segments/mirror.js';
import { mirrorSettingsOf, peerUrlsOf, type MirrorFields } from '../../segments/mirror-options.js';

/** Every param a mirror job may have. */
export const MIRROR_PARAMS = ['from', 'channels', 'qualities', 'hours', 'start', 'order', 'recent_cutoff', 'concurrency', 'backoff'] as const;

const PARAM_OF: Record<keyof MirrorFields, string> = {
  from: 'from', channels: 'channels', qualities: 'qualities', hours: 'hours', start: 'start', order: 'order',
  recentCutoff: 'recent_cutoff', concurrency: 'concurrency', backoff: 'backoff',
};

/** What a mirror job asks for: its peers (`registry`: the coordinator's other nodes) and the rest of a pass. */
export interface MirrorParams {
  from: 'registry' | string[];
  settings: Omit<MirrorOptions, 'base' | 'from'>;
}

/** Checks a mirror job's params (enqueue and worker); errors name `params.NAME`. */
export function parseMirrorParams(p: Params, field = 'params', now = Date.now()): MirrorParams {
  const text = (k: string): string | undefined => {
    const v = p[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'object') throw new ValidationError(`${field}.${k}: expected text`, `${field}.${k}`);
    return String(v);
  };
  const fields: MirrorFields = Object.fromEntries(Object.entries(PARAM_OF).flatMap(([k, param]) => (text(param) === undefined ? [] : [[k, text(param)]])));
  const name = (k: keyof MirrorFields) => `${field}.${PARAM_OF[k]}`;
  const fromText = fields.from ?? 'registry';
  const from = fromText === 'registry' ? 'registry' : peerUrlsOf(fromText, name('from'));
  return { from, settings: mirrorSettingsOf(fields, name, now) };
}
