import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import {
  findIdentity,
  identityOfUser,
  insertIdentity,
  renameIdentity,
} from '../../db/repositories/federated-identities.ts';
import { deletePendingSignup, findUserById, findUserByLogin, insertUser } from '../../db/repositories/users.ts';
import type { User } from '../../db/schema.ts';
import { isPendingSignup } from '../accounts/pending-signups.ts';
import { USERNAME_PATTERN } from '../accounts/signup.ts';
import type { UpstreamIdentity } from './upstream.ts';

/**
 * Which Tessera account an upstream identity is, by the rules GitHub linking set:
 * - an identity is keyed by (connection, subject), never by its address or username;
 * - an address that already has a local account is not merged into it: the person proves they
 *   own that account (its password, and MFA) before the identity is linked to it;
 * - except a sign-up still pending (never verified): the upstream verified the address, nobody
 *   proved the sign-up owns it, so the pending sign-up is deleted and the upstream's person gets
 *   an account with it;
 * - a new account needs an address the upstream says it verified.
 */
export type UpstreamAccount =
  | { kind: 'linked'; user: User }
  /** `replaced`: the id of the pending sign-up that held the address and was deleted. */
  | { kind: 'created'; user: User; replaced?: string }
  /** The verified address belongs to `user`, who can link by signing in to it. */
  | { kind: 'email_taken'; user: User; linkedElsewhere: boolean }
  | { kind: 'no_verified_email' };

export async function accountForUpstream(
  db: Db,
  connectionId: string,
  identity: UpstreamIdentity,
  attempt = 1,
): Promise<UpstreamAccount> {
  const known = await findIdentity(db, connectionId, identity.subject);
  const linked = known && (await findUserById(db, known.user_id));
  if (linked) {
    await renameIdentity(db, connectionId, identity.subject, displayNameOf(identity));
    return { kind: 'linked', user: linked };
  }
  if (!identity.email || !identity.emailVerified) return { kind: 'no_verified_email' };
  const owner = await findUserByLogin(db, identity.email);
  const squatter = owner && isPendingSignup(owner) ? owner.id : undefined;
  if (owner && !squatter) {
    const elsewhere = await identityOfUser(db, owner.id, connectionId);
    return { kind: 'email_taken', user: owner, linkedElsewhere: !!elsewhere };
  }
  const created = await createUpstreamUser(db, connectionId, identity, identity.email, squatter);
  // Someone else took the address or this identity meanwhile (or the pending sign-up was
  // verified after all): decide again from what is there.
  if (created) return { kind: 'created', user: created, ...(squatter ? { replaced: squatter } : {}) };
  if (attempt === 3) throw new Error('could not settle the account for an upstream identity');
  return accountForUpstream(db, connectionId, identity, attempt + 1);
}

/** Links the identity to an account; false when the identity or the account's slot for this connection is taken. */
export function linkUpstream(
  db: Db,
  userId: string,
  link: { connectionId: string; subject: string; displayName: string },
): Promise<boolean> {
  return insertIdentity(db, {
    provider: link.connectionId,
    subject: link.subject,
    user_id: userId,
    display_name: link.displayName,
  });
}

/** What /account and the audit show for an identity: its username, else its address, else its subject. */
export const displayNameOf = (identity: UpstreamIdentity) => identity.username ?? identity.email ?? identity.subject;

async function createUpstreamUser(
  db: Db,
  connectionId: string,
  identity: UpstreamIdentity,
  email: string,
  replacing?: string,
): Promise<User | undefined> {
  try {
    return await db.transaction().execute(async (trx) => {
      if (replacing && !(await deletePendingSignup(trx, replacing))) throw new Lost();
      const user = await insertUser(trx, {
        id: randomUUID(),
        email,
        username: await freeUsername(trx, identity, email),
        name: identity.name,
        password_hash: null,
        email_verified: true,
      });
      const link = { connectionId, subject: identity.subject, displayName: displayNameOf(identity) };
      if (!(await linkUpstream(trx, user.id, link))) throw new Lost();
      return user;
    });
  } catch (err) {
    if (err instanceof Lost || (err as { code?: string }).code === '23505') return undefined;
    throw err;
  }
}

class Lost extends Error {}

/** The upstream's username (or the address's local part), or it with -2, -3…, whichever is free. */
async function freeUsername(db: Db, identity: UpstreamIdentity, email: string): Promise<string> {
  const wanted = [identity.username, email.split('@')[0]].find((u) => u && USERNAME_PATTERN.test(u));
  const base = wanted ?? `user-${randomBytes(4).toString('hex')}`;
  for (let n = 1; n <= 20; n++) {
    const suffix = n === 1 ? '' : `-${n}`;
    const candidate = `${base.slice(0, 39 - suffix.length)}${suffix}`;
    if (!(await findUserByLogin(db, candidate))) return candidate;
  }
  return `user-${randomBytes(6).toString('hex')}`;
}
