import type { KindModule } from '../kind.js';

/** `exec`: a template's command, argv built on the worker from its own config; never a shell. */
export const execKind: KindModule = {
  name: 'exec',
  needsTemplate: true,
  createRunner: async (_settings, worker) => new (await import('./exec-runner.js')).ExecRunner(worker.rotation),
};
