import type { Command } from 'commander';
import { collectList, lazy } from './flags.js';

/**
 * `drover tls init DIR`: a private CA and a certificate for the coordinator, for teams without a
 * PKI; `drover tls client DIR NAME`: a worker's client certificate (mutual TLS).
 */
export function registerTlsCommand(program: Command): void {
  const tls = program.command('tls').description("certificates for the coordinator's HTTPS, from a private CA of your own");
  tls
    .command('init <dir>')
    .description('make DIR/ca.crt and ca.key (once; kept if there) and a server certificate DIR/server.crt, server.key for these names and addresses')
    .option('--name <host>', 'a DNS name (or address) the coordinator is reached by (repeatable; localhost and this host are always in)', collectList)
    .option('--ip <addr>', 'an address the coordinator is reached by (repeatable; 127.0.0.1 and ::1 are always in)', collectList)
    .option('--days <n>', 'how long the server certificate is valid (default 825)')
    .option('--keep', 'do nothing when DIR already has a server certificate and key (a service\'s first start makes them)')
    .action(lazy(() => import('./tls-action.js'), 'tlsInitAction'));
  tls
    .command('client <dir> <name>')
    .description("make DIR/NAME.crt and DIR/NAME.key: a client certificate of DIR's CA naming worker NAME (for server.tls.client_ca and worker.client_cert)")
    .option('--days <n>', 'how long it is valid (default 825)')
    .action(lazy(() => import('./tls-action.js'), 'tlsClientAction'));
}
