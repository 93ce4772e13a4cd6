import { createLocalJWKSet, type JWK, jwtVerify } from 'jose';
import { ALGORITHMS } from './signing-keys.ts';

/**
 * Checks an RFC 9068 access token of this issuer: our signature, issuer, `typ`, expiry and, when
 * given, audience. The admin API and JWT introspection both ask this. A key set object is kept
 * per published key list (the catalog hands out the same array until the keys change), so jose
 * imports each key once instead of on every request.
 */
const keySets = new WeakMap<JWK[], ReturnType<typeof createLocalJWKSet>>();

export function verifyAccessToken(token: string, publicKeys: JWK[], expected: { issuer: string; audience?: string }) {
  let keySet = keySets.get(publicKeys);
  if (!keySet) {
    keySet = createLocalJWKSet({ keys: publicKeys });
    keySets.set(publicKeys, keySet);
  }
  return jwtVerify(token, keySet, {
    issuer: expected.issuer,
    ...(expected.audience ? { audience: expected.audience } : {}),
    typ: 'at+jwt',
    algorithms: [...ALGORITHMS],
  });
}
