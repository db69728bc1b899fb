import { DownloadRunner } from './download/download-runner.js';
import type { DownloadSettings } from './download/settings.js';
import { ExecRunner } from './exec/exec-runner.js';
import { NoopRunner } from './noop/noop-runner.js';
import type { Runner } from './runner.js';

/** The runners every worker has, one per kind; `download` only with download settings. */
export function builtinRunners(download?: DownloadSettings): Runner[] {
  return [new NoopRunner(), new ExecRunner(), ...(download ? [new DownloadRunner(download)] : [])];
}
