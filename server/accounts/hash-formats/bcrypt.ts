import bcrypt from 'bcryptjs';
import type { HashFormat } from './format.ts';

/**
 * bcrypt in its three modular-crypt spellings ($2a$, $2b$, $2y$ differ only in old bugs of other
 * implementations, not in what they compute for a valid password). The cost is capped so that an
 * imported hash cannot make a sign-in take minutes.
 */
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const MAX_COST = 16;

export const bcryptFormat: HashFormat = {
  name: 'bcrypt',
  parses(hash) {
    const cost = BCRYPT.exec(hash)?.[1];
    return cost !== undefined && Number(cost) >= 4 && Number(cost) <= MAX_COST;
  },
  verify: (hash, password) => bcrypt.compare(password, hash),
};
