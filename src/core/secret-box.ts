import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, DroverError, errorMessage } from './errors.js';
import type { ParamValue } from './job.js';

/**
 * Secret params encrypted at rest: AES-256-GCM under a 32-byte key kept in a key file. A sealed
 * value is `drover-enc:v1:KEYID:BASE64(nonce | ciphertext | tag)`, where KEYID names the key
 * (the first 8 hex digits of its SHA-256), so a value sealed under an old key is known as such
 * while keys rotate. What is sealed is the value's JSON, so a number stays a number. The
 * associated data binds a value to where it belongs (a job's id or a schedule's name, and the
 * param's name): a sealed value copied to another param or job does not open.
 */
export const SEALED_PREFIX = 'drover-enc:v1:';

/** Bytes of a key (AES-256). */
export const KEY_BYTES = 32;
/** GCM's recommended nonce length; random per value (2^32 values per key stay far from a collision). */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** A key file's text: 32 bytes in standard base64 (what `openssl rand -base64 32` prints). */
const KEY_TEXT = /^[A-Za-z0-9+/]{43}=$/;
const SEALED = /^drover-enc:v1:([0-9a-f]{8}):([A-Za-z0-9+/]+={0,2})$/;

/** A value that cannot be opened: its key is not at hand, or it was altered or moved. */
export class SecretUnreadableError extends DroverError {
  constructor(
    message: string,
    /** The key the value names. */
    readonly keyId: string,
    /** True when no key of that id is at hand; false when the key is, and the value does not open under it. */
    readonly missingKey: boolean,
  ) {
    super(message, 500, 'secret_unreadable');
  }
}

/** One key. Its bytes are in a private field: neither JSON nor a log line shows them. */
export class SecretKey {
  readonly #bytes: Buffer;
  /** First 8 hex digits of the SHA-256 of the key. */
  readonly id: string;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.id = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  }

  static generate(): SecretKey {
    return new SecretKey(randomBytes(KEY_BYTES));
  }

  /** A key from a key file's text (base64, surrounding whitespace ignored); null if it is none. */
  static parse(text: string): SecretKey | null {
    const t = text.trim();
    if (!KEY_TEXT.test(t)) return null;
    const bytes = Buffer.from(t, 'base64');
    return bytes.length === KEY_BYTES ? new SecretKey(bytes) : null;
  }

  /** The key file's text: base64 and a newline. */
  toText(): string {
    return `${this.#bytes.toString('base64')}\n`;
  }

  seal(value: ParamValue, aad: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#bytes, nonce, { authTagLength: TAG_BYTES });
    c.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return `${SEALED_PREFIX}${this.id}:${Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64')}`;
  }

  /** Opens a value sealed under this key; throws SecretUnreadableError if it does not open. */
  open(sealed: string, aad: string, what: string): ParamValue {
    const m = SEALED.exec(sealed);
    const raw = m ? Buffer.from(m[2] as string, 'base64') : Buffer.alloc(0);
    const bad = () => new SecretUnreadableError(`${what} cannot be decrypted with key ${this.id}: the stored value was altered or belongs elsewhere`, this.id, false);
    if (!m || m[1] !== this.id || raw.length < NONCE_BYTES + TAG_BYTES + 1) throw bad();
    try {
      const d = createDecipheriv('aes-256-gcm', this.#bytes, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const text = Buffer.concat([d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), d.final()]).toString('utf8');
      const v: unknown = JSON.parse(text);
      if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
    } catch {
      // Falls through: a wrong tag, or JSON that is no param value.
    }
    throw bad();
  }
}

/** The id of the key a stored value is sealed under; null for a value that is not sealed (plaintext). */
export function sealedKeyId(v: unknown): string | null {
  if (typeof v !== 'string' || !v.startsWith(SEALED_PREFIX)) return null;
  return SEALED.exec(v)?.[1] ?? v.slice(SEALED_PREFIX.length, SEALED_PREFIX.length + 8);
}

/**
 * Seals with one key and opens with any of several: the current key, and during a rotation the
 * key being rotated away from.
 */
export class SecretBox {
  private readonly keys = new Map<string, SecretKey>();

  constructor(
    /** The key new values are sealed under. */
    readonly current: SecretKey,
    /** More keys values may be sealed under (opened, never used to seal). */
    others: readonly SecretKey[] = [],
  ) {
    for (const k of [current, ...others]) this.keys.set(k.id, k);
  }

  /** Whether a key of this id is at hand. */
  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  seal(value: ParamValue, aad: string): string {
    return this.current.seal(value, aad);
  }

  /** A sealed value opened; any other value as it is (plaintext stored before encryption at rest). */
  open(value: ParamValue, aad: string, what: string): ParamValue {
    const id = sealedKeyId(value);
    if (id === null) return value;
    const key = this.keys.get(id);
    if (!key) throw new SecretUnreadableError(`${what} was encrypted with key ${id}, which is not at hand (have ${[...this.keys.keys()].join(', ')})`, id, true);
    return key.open(value as string, aad, what);
  }
}

/**
 * Reads the key in `file`. Refuses, with a ConfigError that says what to do, a file open to
 * group or others (its key reads every secret in the store) and a file that holds no key.
 */
export function readSecretKeyFile(file: string): SecretKey {
  let st: fs.Stats;
  let text: string;
  try {
    st = fs.statSync(file);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read secret key file ${file}: ${errorMessage(err)}`);
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new ConfigError(`secret key file ${file} is open to group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}), and its key decrypts every secret param in the store: chmod 600 ${file}`);
  }
  const key = SecretKey.parse(text);
  if (!key) throw new ConfigError(`secret key file ${file} holds no key: expected 32 random bytes in base64 on one line, as Drover writes it at first start (or \`openssl rand -base64 32\`); restore it from the backup kept with the database`);
  return key;
}

/**
 * The key in `file`, created with a new random key when the file is missing: 0600, in a
 * directory created 0700. Creation is atomic and exclusive (a complete file is linked into
 * place), so coordinators starting together on one data directory end up with one key.
 */
export function loadOrCreateSecretKeyFile(file: string): { key: SecretKey; created: boolean } {
  if (fs.existsSync(file)) return { key: readSecretKeyFile(file), created: false };
  const key = SecretKey.generate();
  const tmp = `${file}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, key.toText());
      // Losing the key loses every secret sealed under it: on disk before it is used.
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { key: readSecretKeyFile(file), created: false };
      throw err;
    }
    syncDir(path.dirname(path.resolve(file)));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot create secret key file ${file}: ${errorMessage(err)}`);
  } finally {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Its directory cannot be used: the error above says so.
    }
  }
  return { key, created: true };
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every filesystem syncs a directory; the file itself is synced.
  }
}
