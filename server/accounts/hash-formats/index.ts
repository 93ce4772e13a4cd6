import { argon2Format } from './argon2.ts';
import { bcryptFormat } from './bcrypt.ts';
import type { HashFormat } from './format.ts';
import { djangoPbkdf2Format, pbkdf2Format } from './pbkdf2.ts';
import { scryptFormat } from './scrypt.ts';

const FORMATS: HashFormat[] = [argon2Format, bcryptFormat, pbkdf2Format, djangoPbkdf2Format, scryptFormat];

/** The format `hash` is written in, or undefined when it is none Tessera can verify. */
export function findHashFormat(hash: string): HashFormat | undefined {
  return FORMATS.find((format) => format.parses(hash));
}

/** The names of the formats, for messages that say what is accepted. */
export const HASH_FORMAT_NAMES = FORMATS.map((f) => f.name);
