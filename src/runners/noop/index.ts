import type { KindModule } from '../kind.js';
import { NoopRunner } from './noop-runner.js';

/** `noop`: succeeds at once (echoing `params.echo`). For benchmarks and smoke tests. */
export const noopKind: KindModule = {
  name: 'noop',
  needsTemplate: false,
  createRunner: () => new NoopRunner(),
};
