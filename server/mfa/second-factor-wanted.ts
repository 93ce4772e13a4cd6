import type { Db } from '../../db/database.ts';
import { mfaStanding } from '../../db/repositories/mfa.ts';
import type { Catalog } from '../catalog.ts';
import { ACR_MFA } from '../oidc/acr.ts';

/**
 * What a sign-in needs after the password: a second factor when the person has one (an
 * authenticator app or a passkey); enrolment first
 * when they have none but one is demanded (by `acr_values`, the client's require_mfa, or one of
 * their roles); nothing otherwise. The login step and the step-up check ask the same question.
 * It runs several times per sign-in: the factors and roles are one statement, the client comes
 * from the catalog's cache.
 */
export async function secondFactorWanted(
  db: Db,
  catalog: Pick<Catalog, 'findClient'>,
  userId: string,
  clientId: string | undefined,
  acrValues: unknown,
): Promise<'code' | 'enrol' | undefined> {
  const [standing, client] = await Promise.all([
    mfaStanding(db, userId),
    clientId === undefined ? undefined : catalog.findClient(clientId),
  ]);
  if (standing.totp || standing.passkey) return 'code';
  const asked = typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
  return asked || standing.roleRequiresMfa || client?.require_mfa === true ? 'enrol' : undefined;
}
