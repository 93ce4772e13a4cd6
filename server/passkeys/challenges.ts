import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { insertChallenge, spendChallenge } from '../../db/repositories/webauthn-challenges.ts';
import type { WebAuthnPurpose } from '../../db/schema.ts';
import { FRESH_PROOF_SECONDS } from '../mfa/fresh-proof.ts';
import { sha256 } from '../secrets.ts';
import { PasskeyError } from './passkey-error.ts';

/**
 * WebAuthn challenges: random, stored hashed, bound to the interaction or session that asked
 * (`bound_to`), for one purpose, and spent by one DELETE, so an answer works once, there only,
 * and within the fresh-proof window. The challenge an answer claims is read from its signed
 * clientDataJSON; the library then checks the answer signs that very challenge.
 */
export const CHALLENGE_TTL_MS = FRESH_PROOF_SECONDS * 1000;

export const boundToInteraction = (uid: string) => `interaction:${uid}`;
export const boundToSession = (uid: string) => `session:${uid}`;

export async function newChallenge(
  db: Db,
  purpose: WebAuthnPurpose,
  boundTo: string,
  userId: string | null,
): Promise<string> {
  const challenge = randomBytes(32).toString('base64url');
  await insertChallenge(db, {
    challenge_hash: sha256(challenge),
    purpose,
    bound_to: boundTo,
    user_id: userId,
    expires_at: new Date(Date.now() + CHALLENGE_TTL_MS),
  });
  return challenge;
}

const clientData = z.object({ challenge: z.string().min(1).max(512) });

/** The challenge an answer claims, spent; throws PasskeyError('challenge') when it cannot be. */
export async function spendAnswerChallenge(
  db: Db,
  clientDataJSON: string,
  purpose: WebAuthnPurpose,
  boundTo: string,
): Promise<{ challenge: string; userId: string | null }> {
  let claimed: string;
  try {
    claimed = clientData.parse(JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'))).challenge;
  } catch {
    throw new PasskeyError('malformed');
  }
  const spent = await spendChallenge(db, sha256(claimed), purpose, boundTo);
  if (!spent) throw new PasskeyError('challenge');
  return { challenge: claimed, userId: spent.user_id };
}
