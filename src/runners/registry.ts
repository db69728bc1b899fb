import { downloadKind } from './download/index.js';
import { execKind } from './exec/index.js';
import { ffmpegKind } from './ffmpeg/index.js';
import { hikvisionKind } from './hikvision/index.js';
import type { AnyKindModule, WorkerSetup } from './kind.js';
import { mirrorKind } from './mirror/index.js';
import { noopKind } from './noop/index.js';
import type { Runner } from './runner.js';

/** Every job kind Drover has. Adding a kind is a folder with an index.ts and one line here. */
export const KIND_MODULES: readonly AnyKindModule[] = [noopKind, execKind, downloadKind, ffmpegKind, mirrorKind, hikvisionKind];

/** `worker.segments` as resolved (the mirror kind's settings): the worker's tree, server and node. */
export type { SegmentsSettings } from './mirror/settings.js';

/** The module of a built-in kind, or undefined. */
export function kindModule(name: string): AnyKindModule | undefined {
  return KIND_MODULES.find((m) => m.name === name);
}

/** The names of the built-in kinds. */
export function builtinKindNames(): string[] {
  return KIND_MODULES.map((m) => m.name);
}

/**
 * One runner per kind for a worker. `settings` holds each kind's resolved `worker.<kind>`
 * section; a kind missing from it runs on its defaults.
 */
export function createRunners(setup: WorkerSetup, settings: ReadonlyMap<string, unknown> = new Map()): Promise<Runner[]> {
  const chosen = KIND_MODULES.map((m) => ({ m, s: m.settings ? (settings.get(m.name) ?? m.settings.resolve({}, setup, `worker.${m.settingsKey ?? m.name}`)) : undefined }));
  return Promise.all(chosen.filter(({ m, s }) => m.enabled?.(s) ?? true).map(({ m, s }) => m.createRunner(s, setup)));
}
