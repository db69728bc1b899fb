import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../core/errors.js';
import { issueCert, LEAF_DAYS, makeCa, namesAndIps, type CertPair } from '../core/pki.js';

/** The files of `drover tls init DIR`, named so that which is the CA, the certificate and the key is plain. */
export const TLS_FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'server.crt', key: 'server.key' } as const;

function daysOf(v: string | undefined): number {
  if (v === undefined) return LEAF_DAYS;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1 || n > 3650) throw new ValidationError(`--days: a whole number from 1 to 3650, got "${v}"`);
  return n;
}

/** Writes `text` to `file`, a key 0600 (a certificate 0644), replacing it whole. */
function write(file: string, text: string, secret: boolean): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode: secret ? 0o600 : 0o644 });
  fs.renameSync(tmp, file);
}

/** The CA in `dir`: the one there, or a new one (said so); a half of one there is an error. */
function caIn(dir: string, out: string[]): CertPair {
  const certFile = path.join(dir, TLS_FILES.caCert);
  const keyFile = path.join(dir, TLS_FILES.caKey);
  const have = [fs.existsSync(certFile), fs.existsSync(keyFile)];
  if (have[0] && have[1]) {
    out.push(`kept the CA in ${certFile} (its key ${keyFile})`);
    return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  }
  if (have[0] || have[1]) throw new ValidationError(`${dir}: has ${have[0] ? TLS_FILES.caCert : TLS_FILES.caKey} without ${have[0] ? TLS_FILES.caKey : TLS_FILES.caCert}; restore it, or remove both to make a new CA (every worker must then trust the new ca.crt)`);
  const ca = makeCa(`Drover CA ${os.hostname()}`);
  write(keyFile, ca.key, true);
  write(certFile, ca.cert, false);
  out.push(`made a CA: ${certFile} (give it to workers and the CLI), ${keyFile} (keep it here, 0600)`);
  return ca;
}

/** `drover tls init DIR`: the CA (kept when there) and a new server certificate for the names and addresses. */
export async function tlsInitAction(dir: string, flags: { name?: string[]; ip?: string[]; days?: string; keep?: boolean }): Promise<void> {
  const days = daysOf(flags.days);
  if (flags.keep && fs.existsSync(path.join(dir, TLS_FILES.cert)) && fs.existsSync(path.join(dir, TLS_FILES.key))) {
    process.stdout.write(`kept ${path.join(dir, TLS_FILES.cert)} and its key (--keep)\n`);
    return;
  }
  const given = namesAndIps([...(flags.name ?? []), ...(flags.ip ?? [])]);
  for (const n of given.names) if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(n)) throw new ValidationError(`--name: "${n}" is not a host name or an address`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: string[] = [];
  const ca = caIn(dir, out);
  const names = [...new Set(['localhost', os.hostname(), ...given.names])];
  const ips = [...new Set(['127.0.0.1', '::1', ...given.ips])];
  const leaf = issueCert(ca, { commonName: given.names[0] ?? os.hostname(), names, ips, use: 'server', days });
  const certFile = path.join(dir, TLS_FILES.cert);
  const keyFile = path.join(dir, TLS_FILES.key);
  write(keyFile, leaf.key, true);
  write(certFile, leaf.cert, false);
  out.push(`made the coordinator's certificate ${certFile} and key ${keyFile}, valid ${days} days for ${[...names, ...ips].join(', ')}`);
  const abs = (f: string) => path.resolve(f);
  process.stdout.write(
    [
      ...out,
      '',
      'in the coordinator\'s drover.yaml:',
      `  server:`,
      `    tls: { cert: ${abs(certFile)}, key: ${abs(keyFile)} }`,
      'on each worker and for the CLI, trust the CA (a copy of ca.crt):',
      `  DROVER_CA=${abs(path.join(dir, TLS_FILES.caCert))}   (or worker.ca_file, or --ca-file)`,
      'and give them https://HOST:PORT as the server. Run this again to renew the certificate (the CA is kept); then SIGHUP the coordinator.',
      '',
    ].join('\n'),
  );
}

const WORKER_NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** `drover tls client DIR NAME`: a client certificate of DIR's CA, its common name the worker's name. */
export async function tlsClientAction(dir: string, name: string, flags: { days?: string }): Promise<void> {
  if (!WORKER_NAME.test(name)) throw new ValidationError(`NAME: the worker's name: letters, digits and _ . : @ - only, at most 128, got "${name}"`);
  const certFile = path.join(dir, TLS_FILES.caCert);
  const keyFile = path.join(dir, TLS_FILES.caKey);
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) throw new ValidationError(`${dir}: no CA there (${TLS_FILES.caCert} and ${TLS_FILES.caKey}); make one with drover tls init ${dir}`);
  const ca = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  const leaf = issueCert(ca, { commonName: name, use: 'client', days: daysOf(flags.days) });
  const out = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  write(out.key, leaf.key, true);
  write(out.cert, leaf.cert, false);
  process.stdout.write(`made ${out.cert} and ${out.key} (0600) for worker ${name}, valid ${daysOf(flags.days)} days\non that worker: worker.client_cert: ${path.resolve(out.cert)}, worker.client_key: ${path.resolve(out.key)}\n`);
}
