import argon2 from '@node-rs/argon2';
import { boundedInt, type HashFormat } from './format.ts';

/**
 * Argon2 PHC strings of any variant (argon2id, argon2i, argon2d) and version, as argon2-cffi,
 * libsodium, the reference `argon2` tool and Tessera itself write them (the parameters in any
 * order: node-argon2 writes `m,p,t`). Memory is capped at 1 GiB and passes at 64, so an imported
 * hash cannot exhaust the server.
 */
const PHC =
  /^\$argon2(?:id|i|d)\$(?:v=(?:16|19)\$)?([a-z]=\d+(?:,[a-z]=\d+){2})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/;
const LIMITS: Record<string, [number, number]> = { m: [8, 1_048_576], t: [1, 64], p: [1, 16] };

function parses(hash: string): boolean {
  const params = PHC.exec(hash)?.[1];
  if (!params) return false;
  const pairs = new Map(params.split(',').map((pair) => pair.split('=') as [string, string]));
  return (
    pairs.size === 3 &&
    Object.entries(LIMITS).every(([key, [min, max]]) => boundedInt(pairs.get(key), min, max) !== undefined)
  );
}

export const argon2Format: HashFormat = {
  name: 'argon2',
  parses,
  verify: (hash, password) => argon2.verify(hash, password),
};
