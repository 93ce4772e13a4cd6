import type { Db } from '../../db/database.ts';
import {
  consumeEmailTokenRow,
  findLiveEmailToken,
  insertEmailToken,
  retireEmailTokens,
} from '../../db/repositories/email-tokens.ts';
import type { EmailTokensTable } from '../../db/schema.ts';
import { randomToken, sha256 } from '../secrets.ts';

/**
 * Single-use links sent by mail. Only a hash is stored, so a database read does not hand out
 * working links; issuing a new one spends the older ones of the same purpose.
 */
export type EmailTokenPurpose = EmailTokensTable['purpose'];

export const EMAIL_TOKEN_TTL_SECONDS: Record<EmailTokenPurpose, number> = {
  verify_email: 24 * 3600,
  reset_password: 3600,
  // An invited person may not read their mail the same day.
  invitation: 7 * 24 * 3600,
};

export async function issueEmailToken(db: Db, userId: string, email: string, purpose: EmailTokenPurpose) {
  const token = randomToken(32);
  await db.transaction().execute(async (trx) => {
    await retireEmailTokens(trx, userId, purpose);
    await insertEmailToken(trx, {
      token_hash: sha256(token),
      user_id: userId,
      purpose,
      email,
      expires_at: new Date(Date.now() + EMAIL_TOKEN_TTL_SECONDS[purpose] * 1000),
    });
  });
  return token;
}

export function checkEmailToken(db: Db, token: string, purpose: EmailTokenPurpose) {
  return findLiveEmailToken(db, sha256(token), purpose);
}

export function consumeEmailToken(db: Db, token: string, purpose: EmailTokenPurpose) {
  return consumeEmailTokenRow(db, sha256(token), purpose);
}

// Requests holding the same link, in the order they came; an entry lives while one is in flight.
const linkQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `use` for one link after every earlier request with the same link in this process has
 * finished. The database alone already lets only one request spend a link; this saves the rest of
 * a burst from each checking and hashing a password first (tens of ms of CPU apiece), since by
 * their turn the link is spent and they stop at the first read.
 */
export function oneRequestPerLink<T>(token: string, use: () => Promise<T>): Promise<T> {
  const previous = linkQueues.get(token) ?? Promise.resolve();
  const turn = previous.then(use, use);
  const settled = turn.catch(() => undefined);
  linkQueues.set(token, settled);
  void settled.then(() => {
    if (linkQueues.get(token) === settled) linkQueues.delete(token);
  });
  return turn;
}
