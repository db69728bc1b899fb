import path from 'node:path';

/**
 * Where a worker records the process groups its jobs run, below its `log_dir`: one `JOB.pid` file
 * each (see supervise/pid-file.ts). The next worker on that log_dir kills what a dead one left.
 */
export function runningDir(logDir: string): string {
  return path.join(logDir, 'running');
}

/** The pid file of one job's process group. */
export function jobPidFile(logDir: string, jobId: string): string {
  return path.join(runningDir(logDir), `${jobId}.pid`);
}
