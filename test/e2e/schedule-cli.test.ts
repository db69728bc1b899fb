import { describe, expect, it } from 'vitest';
import { runDrover, startServer } from '../support/drover.js';
import { tempDir } from '../support/tmp.js';

describe('drover schedule', () => {
  it('adds, lists (secrets hidden), pauses, resumes and removes; bad input is named', async () => {
    const cwd = tempDir('drover-sched-');
    const srv = await startServer(cwd);
    const d = (...args: string[]) => runDrover([...args, '--server', srv.url], { cwd });
    const add = await d('schedule', 'add', 'nightly', 'download', '--cron', '0 3 * * *', '--tz', 'Europe/Berlin', '--param', 'url=https://cdn.example.com/a.mp4', '--param', 'auth_user=u', '--param', 'auth_password=hunter2', '--owner', 'alice');
    expect(add.stderr).toBe('');
    expect(add.stdout).toMatch(/^schedule nightly: cron "0 3 \* \* \*" Europe\/Berlin, next in \S+ \(\d{4}-\d\d-\d\dT0[12]:00:00\.000Z\)\n$/);
    expect((await d('schedule', 'add', 'quick', 'noop', '--every', '5m')).code).toBe(0);
    const list = await d('schedule', 'list');
    expect(list.stdout).toMatch(/^NAME\s+WHEN\s+NEXT\s+LAST\s+LAST JOB\s+FROM\s+SKIPPED\n/);
    expect(list.stdout).toMatch(/\nnightly\s+cron "0 3 \* \* \*" Europe\/Berlin\s+in /);
    expect(list.stdout).toMatch(/\nquick\s+every 5m00s\s+in \dm\d\ds/);
    const json = await d('schedule', 'list', '--json');
    expect(json.stdout).not.toContain('hunter2');
    expect(JSON.parse(json.stdout)[0].job).toMatchObject({ kind: 'download', owner: 'alice', params: { auth_password: '***', auth_user: 'u' } });
    expect((await d('schedule', 'pause', 'quick')).stdout).toBe('schedule quick paused\n');
    expect((await d('schedule', 'list')).stdout).toMatch(/\nquick\s+every 5m00s\s+paused/);
    expect((await d('schedule', 'resume', 'quick')).stdout).toMatch(/^schedule quick resumed, next in /);
    expect((await d('schedule', 'remove', 'quick')).stdout).toBe('schedule quick removed\n');
    const gone = await d('schedule', 'remove', 'quick');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toBe('drover: no schedule quick\n');
    expect((await d('schedule', 'add', 'x', 'noop')).stderr).toBe('drover: give --every (e.g. 5m) or --cron (e.g. "*/5 * * * *")\n');
    expect((await d('schedule', 'add', 'x', '--every', '5m')).stderr).toBe('drover: give the job: a kind (drover schedule add NAME mirror …) or --template NAME\n');
    expect((await d('schedule', 'add', 'x', 'noop', '--every', 'often')).stderr).toMatch(/^drover: every: "often" is not a duration/);
  });
});
