import fs from 'node:fs';
import type tls from 'node:tls';
import { ConfigError, errorMessage } from './errors.js';

/** `server.tls`: PEM files of the coordinator's certificate (with its chain) and key. */
export interface TlsFiles {
  cert: string;
  key: string;
  /** Mutual TLS: clients may show a certificate this CA signed; its common name is then the worker's name (`server.tls.client_ca`). */
  clientCa?: string;
}

/** Where each file was given, for errors: `server.tls.cert`, or `API_TLS_CERT`. */
export interface TlsLabels {
  cert: string;
  key: string;
  clientCa?: string;
}
const SERVER_LABELS: TlsLabels = { cert: 'server.tls.cert', key: 'server.tls.key', clientCa: 'server.tls.client_ca' };

/** The TLS options of a listener, read from its files; a ConfigError names the file that is wrong. */
export function readTls(files: TlsFiles, labels: TlsLabels = SERVER_LABELS): tls.SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean } {
  const read = (file: string, key: 'cert' | 'key' | 'clientCa') => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${labels[key] ?? key}: cannot read ${file}: ${errorMessage(err)}`);
    }
    if (!/-----BEGIN [A-Z ]+-----/.test(text)) throw new ConfigError(`${labels[key] ?? key}: ${file} is not a PEM file`);
    return text;
  };
  const cert = read(files.cert, 'cert');
  const key = read(files.key, 'key');
  if (!/CERTIFICATE/.test(cert)) throw new ConfigError(`${labels.cert}: ${files.cert} holds no certificate (is it the key?)`);
  if (!/PRIVATE KEY/.test(key)) throw new ConfigError(`${labels.key}: ${files.key} holds no private key (is it the certificate?)`);
  if (!files.clientCa) return { cert, key };
  // Asked for, not required: people and scripts come with tokens; the auth hook reads what was shown.
  return { cert, key, ca: read(files.clientCa, 'clientCa'), requestCert: true, rejectUnauthorized: false };
}

/** A TLS server whose certificate can be replaced; connections open keep the one they began with. */
export interface ReloadableTls {
  setSecureContext(options: tls.SecureContextOptions): void;
}

/**
 * Reads the files again and gives new connections the new certificate (a SIGHUP after renewal);
 * on an error the one in use stays, and the error is thrown to be logged.
 */
export function reloadTls(server: ReloadableTls, files: TlsFiles, labels: TlsLabels = SERVER_LABELS): void {
  const o = readTls(files, labels);
  try {
    server.setSecureContext(o);
  } catch (err) {
    throw new ConfigError(`${labels.cert}, ${labels.key}: the certificate and key do not go together, or one is broken: ${errorMessage(err)}`);
  }
}

/** The PEM certificates of a CA file (`worker.ca_file`, `--ca-file`, `DROVER_CA`: `where`); a ConfigError when it cannot be read or holds none. */
export function readCaFile(file: string, where: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${file}: ${errorMessage(err)}`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) throw new ConfigError(`${where}: ${file} holds no PEM certificate`);
  return text;
}
