import type { KindModule } from '../kind.js';

/** `noop`: succeeds at once (echoing `params.echo`). For benchmarks and smoke tests. */
export const noopKind: KindModule = {
  name: 'noop',
  needsTemplate: false,
  params: ['echo'],
  createRunner: async () => new (await import('./noop-runner.js')).NoopRunner(),
};
