import type { Command } from 'commander';
import { AGENT_DEFAULTS } from '../agent/defaults.js';
import { SERVER_DEFAULTS } from '../coordinator/defaults.js';
import { collectList, lazy } from './flags.js';

const actions = () => import('./server-actions.js');

function serverFlags(cmd: Command): Command {
  return cmd
    .option('--host <addr>', `address to listen on (default ${SERVER_DEFAULTS.host}; others need --token-file and TLS)`)
    .option('--port <n>', `port (default ${SERVER_DEFAULTS.port})`)
    .option('--data <dir>', `data directory of the embedded SQLite store (default ${SERVER_DEFAULTS.dataDir})`)
    .option('--db <url>', 'database: postgres://USER@HOST/DB or a SQLite file (default $DROVER_DB; overrides --data)')
    .option('--token-file <file>', 'tokens file (admin: / worker:), created with random tokens if missing')
    .option('--tls-cert <file>', 'HTTPS with this PEM certificate (with --tls-key; over server.tls; drover tls init makes them)')
    .option('--tls-key <file>', 'the PEM key of --tls-cert')
    .option('--config <file>', 'config file (default $DROVER_CONFIG, else ./drover.yaml)');
}

function workerFlags(cmd: Command, withServer: boolean): Command {
  if (withServer) cmd.option('--server <urls>', 'coordinator URL(s), comma-separated, tried in turn (default $DROVER_SERVER)');
  return cmd
    .option('--concurrency <n>', 'jobs run at once (default: number of CPUs)')
    .option('--name <name>', 'worker name (default HOST-PID)')
    .option('--queue <name>', 'take jobs only from this queue (repeatable; default all)', collectList)
    .option('--output-root <dir>', `where job output directories go (default ${AGENT_DEFAULTS.outputRoot})`);
}

/** Every long-running command: its log lines' form. */
function logFlag(cmd: Command): Command {
  return cmd.option('--log-format <form>', 'human or json (default $DROVER_LOG_FORMAT, else human on a terminal, json otherwise)');
}

export function registerServerCommands(program: Command): void {
  logFlag(serverFlags(program.command('server')))
    .description('run the coordinator (HTTP API, scheduler, store); SIGHUP reloads its templates')
    .action(lazy(actions, 'serverAction'));

  logFlag(workerFlags(program.command('worker'), true))
    .description('run a worker agent that pulls jobs from the coordinator; SIGHUP reloads templates, destinations and settings')
    .option('--token-file <file>', 'file with the worker token (default $DROVER_TOKEN)')
    .option('--ca-file <file>', "PEM certificate(s) to trust for an https:// coordinator (default $DROVER_CA, else worker.ca_file)")
    .option('--config <file>', 'config file (default $DROVER_CONFIG, else ./drover.yaml)')
    .action(lazy(actions, 'workerAction'));

  logFlag(workerFlags(serverFlags(program.command('up')), false))
    .description('run a coordinator and one local worker (the embedded default); SIGHUP reloads drover.yaml')
    .option('--no-worker', 'run the coordinator only')
    .action(lazy(actions, 'upAction'));
}
