import crypto from 'node:crypto';
import net from 'node:net';
import forge from 'node-forge';

/** A certificate and its private key, PEM. */
export interface CertPair {
  cert: string;
  key: string;
}

/** Validity of a private CA, days. 10 years: it is the team's own, renewed by hand. */
export const CA_DAYS = 3650;
/** Validity of a server or client certificate, days. 825: what browsers and most clients still take. */
export const LEAF_DAYS = 825;

const DAY_MS = 86_400_000;

/** RSA 2048 keys, made by Node (native, fast); forge only builds and signs the certificates. */
function keyPair(): { pem: string; forge: forge.pki.rsa.KeyPair } {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const priv = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { pem, forge: { privateKey: priv, publicKey: forge.pki.setRsaPublicKey(priv.n, priv.e) } };
}

function base(pub: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = pub;
  // Positive, random: two certificates of one CA never share a serial.
  c.serialNumber = `01${crypto.randomBytes(15).toString('hex')}`;
  const now = Date.now();
  // An hour back: a client whose clock is a little behind takes it at once.
  c.validity.notBefore = new Date(now - 3_600_000);
  c.validity.notAfter = new Date(now + days * DAY_MS);
  return c;
}

/** A private CA for a team without a PKI: its certificate signs the coordinator's (and workers'). */
export function makeCa(commonName: string, days = CA_DAYS): CertPair {
  const k = keyPair();
  const c = base(k.forge.publicKey, days);
  const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'Drover' }];
  c.setSubject(subject);
  c.setIssuer(subject);
  c.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  c.sign(k.forge.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c), key: k.pem };
}

/**
 * A certificate signed by `ca`: for a server, valid for `names` (DNS) and `ips`; for a client
 * (mutual TLS), naming it by `commonName` (the worker's name).
 */
export function issueCert(ca: CertPair, o: { commonName: string; names?: string[]; ips?: string[]; use: 'server' | 'client'; days?: number }): CertPair {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const k = keyPair();
  const c = base(k.forge.publicKey, o.days ?? LEAF_DAYS);
  c.setSubject([{ name: 'commonName', value: o.commonName }]);
  c.setIssuer(caCert.subject.attributes);
  const altNames = [...(o.names ?? []).map((value) => ({ type: 2, value })), ...(o.ips ?? []).map((ip) => ({ type: 7, ip }))];
  c.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: o.use === 'server', clientAuth: o.use === 'client' },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  c.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c), key: k.pem };
}

/** Splits `--name` values into DNS names and IP addresses, so either may be given to either flag. */
export function namesAndIps(values: readonly string[]): { names: string[]; ips: string[] } {
  const names: string[] = [];
  const ips: string[] = [];
  for (const v of values) (net.isIP(v.replace(/^\[|\]$/g, '')) ? ips : names).push(v.replace(/^\[|\]$/g, ''));
  return { names: [...new Set(names)], ips: [...new Set(ips)] };
}
