import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * The signatures of signed cookies (Koa's and oidc-provider's `name.sig`), exactly as Keygrip
 * makes them (HMAC-SHA1 of `name=value`, base64url, the first key signing, any key verifying),
 * so cookies signed before still verify. Faster where every request pays: the keys are
 * KeyObjects made once, and a signature is compared with timingSafeEqual instead of Keygrip's
 * double HMAC with fresh random bytes (three HMACs per cookie read, a new Keygrip per request).
 */
export interface CookieSigner {
  sign(data: unknown): string;
  verify(data: unknown, digest: string): boolean;
  /** Which key made `digest` (0 is the current one), or -1. */
  index(data: unknown, digest: string): number;
}

export function cookieSigner(keys: readonly string[]): CookieSigner {
  const objects: KeyObject[] = keys.map((key) => createSecretKey(Buffer.from(key)));
  const first = objects[0];
  if (!first) throw new Error('cookie signing needs a key');
  const sign = (data: unknown, key: KeyObject) => createHmac('sha1', key).update(String(data)).digest('base64url');
  const index = (data: unknown, digest: string) => {
    // A signature's length is public (that of every SHA-1 in base64url): only its content is compared in constant time.
    const given = Buffer.from(String(digest));
    return objects.findIndex((key) => {
      const expected = Buffer.from(sign(data, key));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  };
  return {
    sign: (data) => sign(data, first),
    verify: (data, digest) => index(data, digest) > -1,
    index,
  };
}
