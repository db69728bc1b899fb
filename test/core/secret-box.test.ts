import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { loadOrCreateSecretKeyFile, readSecretKeyFile, SEALED_PREFIX, sealedKeyId, SecretBox, SecretKey, SecretUnreadableError } from '../../src/core/secret-box.js';
import { openParams, sealParams } from '../../src/coordinator/secret-params.js';
import { tempDir } from '../support/tmp.js';

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected it to throw');
}

describe('secret box: AES-256-GCM sealed params', () => {
  it('seals to drover-enc:v1:KEYID:… and opens to the same value and type; every sealing differs', () => {
    const key = SecretKey.generate();
    expect(key.id).toMatch(/^[0-9a-f]{8}$/);
    for (const v of ['hunter2', '', 'ünïcode ✓ "quoted"', 0, -1.5, 2 ** 53 - 1, true, false]) {
      const sealed = key.seal(v, 'aad');
      expect(sealed.startsWith(`${SEALED_PREFIX}${key.id}:`)).toBe(true);
      expect(sealedKeyId(sealed)).toBe(key.id);
      expect(key.open(sealed, 'aad', 'x')).toStrictEqual(v);
    }
    expect(key.seal('same', 'aad')).not.toBe(key.seal('same', 'aad'));
    expect(sealedKeyId('hunter2')).toBeNull();
    expect(sealedKeyId(7)).toBeNull();
  });

  it('binds a value to its param and its job: swapped, it does not open', () => {
    const box = new SecretBox(SecretKey.generate());
    const sealed = sealParams(box, { password: 'p1', token: 't1', user: 'u' }, ['password', 'token'], { job: 'job1' });
    expect(sealed.user).toBe('u');
    expect(openParams(box, sealed, ['password', 'token'], { job: 'job1' })).toEqual({ password: 'p1', token: 't1', user: 'u' });
    const swapped = { ...sealed, password: sealed.token as string, token: sealed.password as string };
    expect(thrown(() => openParams(box, swapped, ['password', 'token'], { job: 'job1' }))).toBeInstanceOf(SecretUnreadableError);
    expect(() => openParams(box, sealed, ['password'], { job: 'job2' })).toThrow(/secret param password of job job2 cannot be decrypted with key [0-9a-f]{8}: the stored value was altered or belongs elsewhere/);
    expect(() => openParams(box, sealed, ['password'], { schedule: 'job1' })).toThrow(SecretUnreadableError);
  });

  it('says which key a value needs when it is not at hand, and refuses an altered value', () => {
    const old = SecretKey.generate();
    const sealed = old.seal('s3cret', 'a');
    const box = new SecretBox(SecretKey.generate());
    const err = thrown(() => box.open(sealed, 'a', 'secret param p of job j')) as SecretUnreadableError;
    expect(err).toBeInstanceOf(SecretUnreadableError);
    expect(err).toMatchObject({ keyId: old.id, missingKey: true });
    expect(err.message).toBe(`secret param p of job j was encrypted with key ${old.id}, which is not at hand (have ${box.current.id})`);
    // With the old key beside the new one (a rotation), it opens.
    expect(new SecretBox(SecretKey.generate(), [old]).open(sealed, 'a', 'x')).toBe('s3cret');
    const body = Buffer.from(sealed.split(':')[3] as string, 'base64');
    body[body.length - 20] = (body[body.length - 20] as number) ^ 1;
    const altered = `${SEALED_PREFIX}${old.id}:${body.toString('base64')}`;
    expect(thrown(() => new SecretBox(old).open(altered, 'a', 'x'))).toMatchObject({ keyId: old.id, missingKey: false });
    expect(() => old.open(`${SEALED_PREFIX}${old.id}:bm9wZQ==`, 'a', 'x')).toThrow(SecretUnreadableError);
    // Plaintext (stored before encryption at rest) passes through.
    expect(box.open('legacy', 'a', 'x')).toBe('legacy');
  });

  it('keeps its key bytes out of JSON and inspection', () => {
    const key = SecretKey.generate();
    const b64 = key.toText().trim();
    expect(JSON.stringify(key)).not.toContain(b64);
    expect(JSON.stringify({ box: new SecretBox(key) })).not.toContain(b64);
  });
});

describe('secret key files', () => {
  it('creates a missing key file 0600 in a new 0700 directory, and reads the same key back', () => {
    const dir = path.join(tempDir(), 'data', 'deeper');
    const file = path.join(dir, 'secret.key');
    const made = loadOrCreateSecretKeyFile(file);
    expect(made.created).toBe(true);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(dir)).toBe(0o700);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const again = loadOrCreateSecretKeyFile(file);
    expect(again.created).toBe(false);
    expect(again.key.id).toBe(made.key.id);
    expect(fs.readdirSync(dir)).toEqual(['secret.key']);
  });

  it('refuses a key file open to group or others, saying to chmod 600', () => {
    const file = path.join(tempDir(), 'secret.key');
    loadOrCreateSecretKeyFile(file);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      fs.chmodSync(file, mode);
      const err = thrown(() => readSecretKeyFile(file));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(`secret key file ${file} is open to group or others (mode 0${mode.toString(8)}), and its key decrypts every secret param in the store: chmod 600 ${file}`);
      expect(() => loadOrCreateSecretKeyFile(file)).toThrow(/chmod 600/);
    }
    fs.chmodSync(file, 0o400);
    expect(readSecretKeyFile(file).id).toMatch(/^[0-9a-f]{8}$/);
  });

  it('refuses a file that holds no key, naming it', () => {
    const dir = tempDir();
    for (const [name, text] of [['empty', ''], ['short', 'c2hvcnQ=\n'], ['text', 'not a key at all, just words'], ['long', `${Buffer.alloc(48, 1).toString('base64')}\n`]] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text, { mode: 0o600 });
      const err = thrown(() => loadOrCreateSecretKeyFile(file));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(`secret key file ${file} holds no key: expected 32 random bytes in base64`);
      // Never replaced: the file may be a key damaged in transit, which only its owner can restore.
      expect(fs.readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('takes a key made with openssl rand -base64 32', () => {
    const file = path.join(tempDir(), 'secret.key');
    fs.writeFileSync(file, execFileSync('openssl', ['rand', '-base64', '32']), { mode: 0o600 });
    const key = readSecretKeyFile(file);
    expect(key.open(key.seal('x', 'a'), 'a', 'x')).toBe('x');
  });

  it('of several processes creating one key file at once, all end up with the same key', async () => {
    const file = path.join(tempDir(), 'data', 'secret.key');
    // The module as plain JavaScript, for child processes (they have no TypeScript loader).
    const bundle = path.join(tempDir(), 'secret-box.mjs');
    await build({ entryPoints: [path.resolve(import.meta.dirname, '../../src/core/secret-box.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
    const script = `import(${JSON.stringify(bundle)}).then((m) => process.stdout.write(m.loadOrCreateSecretKeyFile(process.argv[1]).key.id))`;
    const ids = await Promise.all(
      Array.from({ length: 6 }, () => new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
      })),
    );
    expect(new Set(ids).size).toBe(1);
    expect(readSecretKeyFile(file).id).toBe(ids[0]);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['secret.key']);
  });
});
