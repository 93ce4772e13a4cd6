import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CookieSigner, cookieSigner } from './http/cookie-signer.ts';

/**
 * Everything derived from SECRET_KEY: the at-rest encryption key and the cookie signing keys.
 * Each use gets its own HKDF label, so one leaked derivative reveals nothing about another.
 */
export interface Secrets {
  /** AES-256-GCM; the output is `v1.<iv>.<tag>.<ciphertext>` in base64url. */
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
  readonly cookieKeys: string[];
  /** Signs and verifies signed cookies with `cookieKeys`, for Koa and oidc-provider alike. */
  readonly cookieSigner: CookieSigner;
}

export function createSecrets(secretKey: string): Secrets {
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', secretKey, 'tessera', label, 32));
  // A KeyObject made once: given raw bytes, every cipher would import the key anew (a third of its cost).
  const atRest = createSecretKey(derive('at-rest encryption v1'));
  const cookieKeys = [derive('cookie signing v1').toString('base64url')];
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', atRest, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    decrypt(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unknown sealed value format');
      const decipher = createDecipheriv('aes-256-gcm', atRest, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
    cookieKeys,
    cookieSigner: cookieSigner(cookieKeys),
  };
}

/** A random identifier or secret of `bytes` bytes, base64url. */
export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');

export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * SECRET_KEY, or in embedded mode (no SECRET_KEY given) the one kept in DATA_DIR, created with
 * mode 0600 on first use. With DATABASE_URL, config.ts already insists on SECRET_KEY.
 */
export async function resolveSecretKey(config: { secretKey: string | undefined; dataDir: string }): Promise<string> {
  if (config.secretKey) return config.secretKey;
  const file = join(config.dataDir, 'secret-key');
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, randomToken(48), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await readFile(file, 'utf8')).trim();
}
