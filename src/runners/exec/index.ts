import type { KindModule } from '../kind.js';
import { ExecRunner } from './exec-runner.js';

/** `exec`: a template's command, argv built on the worker from its own config; never a shell. */
export const execKind: KindModule = {
  name: 'exec',
  needsTemplate: true,
  createRunner: (_settings, worker) => new ExecRunner(worker.rotation),
};
