import type { KindModule } from '../kind.js';
import { MIRROR_PARAMS, parseMirrorParams } from './params.js';
import { segmentsSettings, type SegmentsSettings } from './settings.js';

/**
 * `mirror`: one pass of wubloader's backfiller into the worker's segment tree
 * (`worker.segments.dir`), from the peers a job names or from every other node the coordinator
 * knows (`from: registry`). Only workers with a tree run it; `--node` picks which.
 */
export const mirrorKind: KindModule<SegmentsSettings, unknown> = {
  name: 'mirror',
  needsTemplate: false,
  check: (params, field) => void parseMirrorParams(params, field),
  params: MIRROR_PARAMS,
  // A peer URL with user:TOKEN@ carries a token.
  secretsOf: (params) => (typeof params.from === 'string' && /:\/\/[^/]*@/.test(params.from) ? ['from'] : []),
  settingsKey: 'segments',
  settings: segmentsSettings as KindModule<SegmentsSettings, unknown>['settings'],
  enabled: (settings) => settings.dir !== null,
  createRunner: async (settings) => new (await import('./mirror-runner.js')).MirrorRunner(settings),
};
