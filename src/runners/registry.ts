import { ExecRunner } from './exec/exec-runner.js';
import { NoopRunner } from './noop/noop-runner.js';
import type { Runner } from './runner.js';

/** The runners every worker has, one per kind. */
export function builtinRunners(): Runner[] {
  return [new NoopRunner(), new ExecRunner()];
}
