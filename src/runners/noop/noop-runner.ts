import type { RunContext, RunResult, Runner } from '../runner.js';

/** Succeeds at once. For benchmarks and smoke tests. */
export class NoopRunner implements Runner {
  readonly kind = 'noop';
  async run(ctx: RunContext): Promise<RunResult> {
    return { outcome: 'succeeded', result: ctx.job.params.echo === undefined ? null : { echo: ctx.job.params.echo } };
  }
}
