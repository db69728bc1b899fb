/** Certificate errors that mean "signed by a CA this client does not trust". */
const UNKNOWN_CA = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE']);

/**
 * A TLS failure reaching `url`, in words that say which and how to fix it; null when `err` is
 * not one. A private CA is trusted with DROVER_CA (or `--ca-file`, `worker.ca_file`).
 */
export function describeTlsError(err: unknown, url: string): string | null {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const message = e.cause?.message ?? e.message ?? '';
  let host = url;
  try {
    host = new URL(url).hostname;
  } catch {
    // `url` as given
  }
  if (UNKNOWN_CA.has(code)) {
    return `its TLS certificate is signed by a CA this client does not trust (${code}): give the CA's certificate with DROVER_CA=FILE, --ca-file FILE or worker.ca_file (drover tls init wrote it as DIR/ca.crt)`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const c = (e as { cert?: { subjectaltname?: string } }).cert ?? (e.cause as { cert?: { subjectaltname?: string } } | undefined)?.cert;
    const names = c?.subjectaltname || /altnames: (.+)$/.exec(message)?.[1];
    return `its TLS certificate is not for ${host}${names ? ` (it is for ${names})` : ''}: connect by one of its names, or make one for ${host} with drover tls init DIR --name ${host}`;
  }
  if (code === 'CERT_HAS_EXPIRED') return `its TLS certificate has expired: make a new one (drover tls init DIR again, with the same CA) and send the coordinator SIGHUP`;
  if (code === 'CERT_NOT_YET_VALID') return `its TLS certificate is not valid yet: check this machine's clock`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(message)) return `it does not speak TLS there: use http:// for it, or give the coordinator server.tls`;
  return null;
}
