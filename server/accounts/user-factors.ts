import { revokeEverythingOf } from '../../adapters/account-artifacts.ts';
import { type Db, inTransaction } from '../../db/database.ts';
import { identitiesOfUser } from '../../db/repositories/federated-identities.ts';
import { findTotpFactor } from '../../db/repositories/mfa.ts';
import { deletePasskey, listPasskeysOf } from '../../db/repositories/passkeys.ts';
import { findUserWithRoles } from '../../db/repositories/users.ts';
import { AppError } from '../errors.ts';
import { recoveryCodesLeft } from '../mfa/factors.ts';
import { describeUser, type UserView } from './users.ts';

/**
 * How an account signs in, as operators see it (`tessera users show`, the admin API): whether it
 * has a password, its authenticator app and recovery codes, its passkeys, and its linked
 * identities. Never a secret: no hash, seed or public key leaves here.
 */
export interface PasskeyView {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  aaguid: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  transports: string[];
}

export interface UserFactors {
  password: boolean;
  totp: { confirmed_at: string } | null;
  recovery_codes_left: number;
  passkeys: PasskeyView[];
}

export interface LinkedIdentity {
  provider: string;
  subject: string;
  display_name: string;
  linked_at: string;
}

async function requireUser(db: Db, id: string) {
  const found = await findUserWithRoles(db, id);
  if (!found) throw new AppError('not_found', `user ${id} does not exist`);
  return found;
}

export async function factorsOfUser(db: Db, userId: string): Promise<UserFactors> {
  const user = await requireUser(db, userId);
  const [totp, passkeys] = await Promise.all([findTotpFactor(db, userId), listPasskeysOf(db, userId)]);
  const confirmed = totp?.confirmed_at;
  return {
    password: user.password_hash !== null,
    totp: confirmed ? { confirmed_at: confirmed.toISOString() } : null,
    recovery_codes_left: confirmed ? await recoveryCodesLeft(db, userId) : 0,
    passkeys: passkeys.map((p) => ({
      id: p.id,
      name: p.name,
      created_at: p.created_at.toISOString(),
      last_used_at: p.last_used_at?.toISOString() ?? null,
      aaguid: p.aaguid,
      device_type: p.device_type,
      backed_up: p.backed_up,
      transports: p.transports,
    })),
  };
}

/** `tessera users show ID`: the profile, roles, factors and linked identities of one account. */
export async function showUser(
  db: Db,
  userId: string,
): Promise<UserView & { factors: UserFactors; linked_identities: LinkedIdentity[] }> {
  const user = await requireUser(db, userId);
  const [factors, identities] = await Promise.all([factorsOfUser(db, userId), identitiesOfUser(db, userId)]);
  return {
    ...describeUser(user, user.roles),
    factors,
    linked_identities: identities.map((i) => ({
      provider: i.provider,
      subject: i.subject,
      display_name: i.display_name,
      linked_at: i.linked_at.toISOString(),
    })),
  };
}

/**
 * An operator removes a passkey (a lost laptop): it stops working at once, and every session and
 * grant of the account ends, as whoever holds the laptop may hold a session too.
 */
export async function removePasskeyOfUser(db: Db, userId: string, passkeyId: string): Promise<{ revoked: number }> {
  await requireUser(db, userId);
  return inTransaction(db, async (trx) => {
    if (!(await deletePasskey(trx, userId, passkeyId))) {
      throw new AppError('not_found', `user ${userId} has no passkey ${passkeyId}`);
    }
    return { revoked: await revokeEverythingOf(trx, userId) };
  });
}
