import type { Command } from 'commander';
import { LIST_DEFAULTS } from '../core/job-filter.js';
import { addClientFlags, collectList, collectParam, jobOptions, lazy } from './flags.js';

const actions = () => import('./job-actions.js');
const manage = () => import('./manage-actions.js');

/** The filters of a list, a bulk cancel or retry; `states`: the states it takes by default (null: all). */
function filterFlags(cmd: Command, states: string | null): Command {
  return cmd
    .option('--state <states>', `only these states, comma-separated${states === null ? '' : ` (default ${states})`}`)
    .option('--owner <name>', 'only this owner')
    .option('--queue <name>', 'only this queue')
    .option('--tag <tag>', 'only jobs with this tag')
    .option('--template <name>', 'only this template')
    .option('--kind <kind>', 'only this kind')
    .option('--parent <id>', 'only the children of this job');
}

export function registerJobCommands(program: Command): void {
  addClientFlags(jobOptions(program.command('add [kind] [urls...]')))
    .description('create a job: `drover add --template NAME --param k=v ...`, `drover add KIND ...` or `drover add download URL... --dest NAME[:dir]`')
    .option('--template <name>', 'template from the config')
    .option('--param <k=v>', 'a parameter (repeatable)', collectParam)
    .option('--secret <name>', 'also redact this param (repeatable)', collectList)
    .option('--run-at <time>', 'not before this time: ISO 8601, or a duration from now (10m, 2h)')
    .option('--dest <name[:dir]>', 'download, hikvision, ffmpeg: a destination of the worker, and a directory below it')
    .option('--sha256 <hex>', "download: the file's expected SHA-256 (also --param sha1=/md5=)")
    .option('--header <"K: V">', 'download: a request header (repeatable; kept secret)', collectList)
    .option('--connections <n>', "download: connections for the file (default: the worker's download.connections)")
    .option('--kind <kind>', 'the kind, as the first word would give it (`--kind download URL...`)')
    .option('--wait', 'then wait until the job(s) end; exit 1 unless all succeeded')
    .option('--json', 'print the job(s) as JSON')
    .action(lazy(actions, 'addAction'));

  filterFlags(addClientFlags(program.command('jobs').aliases(['list', 'ls'])), null)
    .description('list jobs, newest first, under a count per state')
    .option('--since <time>', 'only jobs created or finished since then: a duration ago (1h, 30m) or an ISO 8601 time')
    .option('--finished', 'finished jobs only, by finish time: the latest first (with --oldest, the earliest)')
    .option('--oldest', 'oldest first')
    .option('--limit <n>', `at most this many (default ${LIST_DEFAULTS.limit})`)
    .option('--all', 'every matching job')
    .option('--json', 'JSON lines, one job per line')
    .action(lazy(actions, 'jobsAction'));

  addClientFlags(program.command('show <id>'))
    .description('one job in full, with its attempts')
    .option('--json', 'as JSON')
    .action(lazy(actions, 'showAction'));

  addClientFlags(program.command('logs <id>'))
    .description("print a job's output")
    .option('-f, --follow', 'keep printing until the job ends')
    .option('-n, --tail <lines>', 'only the last lines so far (then, with -f, what comes)')
    .action(lazy(actions, 'logsAction'));

  filterFlags(addClientFlags(program.command('cancel [ids...]')), 'waiting,queued,running')
    .description('cancel jobs (waiting, queued or running): these ids, or every one matching the filters')
    .action(lazy(actions, 'cancelAction'));

  filterFlags(addClientFlags(program.command('retry [ids...]')), 'failed,timed_out; canceled too if named')
    .description('put failed, timed-out or canceled jobs back in the queue: these ids, or every one matching the filters')
    .action(lazy(actions, 'retryAction'));

  addClientFlags(program.command('purge'))
    .description('delete finished jobs, with their logs: `drover purge --state succeeded --before 7d`')
    .option('--before <time>', 'finished before this: a duration ago (7d, 12h) or an ISO 8601 time (required)')
    .option('--state <states>', 'only these final states, comma-separated (default all: succeeded,failed,timed_out,canceled)')
    .action(lazy(manage, 'purgeAction'));

  addClientFlags(program.command('stats'))
    .description('jobs per state and per queue, finished in the last hour, workers online')
    .option('--json', 'as JSON')
    .action(lazy(manage, 'statsAction'));

  addClientFlags(program.command('templates'))
    .description('the templates the coordinator knows: their params, secrets and limits')
    .option('--json', 'as JSON')
    .action(lazy(manage, 'templatesAction'));

  addClientFlags(program.command('workers [prune]'))
    .description('workers online, and those gone less than an hour; `drover workers prune` forgets the others')
    .option('--all', 'also the workers gone longer')
    .option('--json', 'as JSON')
    .action(lazy(actions, 'workersAction'));
}
