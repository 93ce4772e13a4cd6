import type { Db } from '../../db/database.ts';
import { countPasskeysOf } from '../../db/repositories/passkeys.ts';
import { ACR_MFA } from '../oidc/acr.ts';
import { hasTotp, mfaRequired } from './factors.ts';

/**
 * What a sign-in needs after the password: a second factor when the person has one (an
 * authenticator app or a passkey); enrolment first
 * when they have none but one is demanded (by `acr_values`, the client's require_mfa, or one of
 * their roles); nothing otherwise. The login step and the step-up check ask the same question.
 */
export async function secondFactorWanted(
  db: Db,
  userId: string,
  clientId: string | undefined,
  acrValues: unknown,
): Promise<'code' | 'enrol' | undefined> {
  if ((await hasTotp(db, userId)) || (await countPasskeysOf(db, userId)) > 0) return 'code';
  const asked = typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
  return asked || (await mfaRequired(db, userId, clientId)) ? 'enrol' : undefined;
}
