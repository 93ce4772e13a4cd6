import { scrypt } from 'node:crypto';
import { boundedInt, decodeBase64, type HashFormat, sameBytes } from './format.ts';

/**
 * scrypt as passlib writes it: `$scrypt$ln=LOG2N,r=R,p=P$SALT$KEY`, base64 without padding; the
 * key length is the stored key's. Cost is capped at 1 GiB of memory per check.
 */
const SCRYPT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/;
const MAX_MEMORY = 1024 ** 3;

function parse(hash: string) {
  const [, ln, r, p, salt, key] = SCRYPT.exec(hash) ?? [];
  const params = { ln: boundedInt(ln, 1, 20), r: boundedInt(r, 1, 32), p: boundedInt(p, 1, 16) };
  const bytes = { salt: salt && decodeBase64(salt), key: key && decodeBase64(key) };
  if (!params.ln || !params.r || !params.p || !bytes.salt || !bytes.key || bytes.key.length < 16) return undefined;
  const N = 2 ** params.ln;
  if (128 * N * params.r > MAX_MEMORY) return undefined;
  return { N, r: params.r, p: params.p, salt: bytes.salt, key: bytes.key };
}

export const scryptFormat: HashFormat = {
  name: 'scrypt',
  parses: (hash) => parse(hash) !== undefined,
  async verify(hash, password) {
    const h = parse(hash);
    if (!h) return false;
    const options = { N: h.N, r: h.r, p: h.p, maxmem: 2 * 128 * h.N * h.r + 1024 * 1024 };
    const derived = await new Promise<Buffer>((resolve, reject) =>
      scrypt(password, h.salt, h.key.length, options, (err, key) => (err ? reject(err) : resolve(key))),
    );
    return sameBytes(derived, h.key);
  },
};
