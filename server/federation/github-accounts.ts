import { randomUUID } from 'node:crypto';
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
import type { GitHubProfile } from './github.ts';

/**
 * Which Tessera account a GitHub identity is. The key is GitHub's numeric id, never the login.
 * An address that already has a local account is not merged into it: the person must prove
 * they own that account (its password, and MFA) before GitHub is linked to it. Except a sign-up
 * still pending (never verified): GitHub has verified the address, nobody proved the sign-up
 * owns it, so the pending sign-up is deleted and the GitHub user gets an account with it.
 */
export type GitHubAccount =
  | { kind: 'linked'; user: User }
  /** `replaced`: the id of the pending sign-up that held the address and was deleted. */
  | { kind: 'created'; user: User; replaced?: string }
  /** The verified address belongs to `user`, who can link by signing in to it. */
  | { kind: 'email_taken'; user: User; linkedElsewhere: boolean };

export async function accountForGitHub(db: Db, profile: GitHubProfile, attempt = 1): Promise<GitHubAccount> {
  const identity = await findIdentity(db, 'github', profile.id);
  const linked = identity && (await findUserById(db, identity.user_id));
  if (linked) {
    await renameIdentity(db, 'github', profile.id, profile.login);
    return { kind: 'linked', user: linked };
  }
  const owner = await findUserByLogin(db, profile.email);
  const squatter = owner && isPendingSignup(owner) ? owner.id : undefined;
  if (owner && !squatter) {
    return { kind: 'email_taken', user: owner, linkedElsewhere: !!(await identityOfUser(db, owner.id, 'github')) };
  }
  const created = await createGitHubUser(db, profile, squatter);
  // Someone else took the address or this identity in the meantime (or the pending sign-up was
  // verified after all): decide again from what is there.
  if (created) return { kind: 'created', user: created, ...(squatter ? { replaced: squatter } : {}) };
  if (attempt === 3) throw new Error('could not settle the account for a GitHub identity');
  return accountForGitHub(db, profile, attempt + 1);
}

/**
 * A new account with GitHub's verified address and no password, and its identity, together or
 * not at all, after deleting the pending sign-up that held the address, if one did. Undefined
 * when a concurrent sign-in made either first, or the pending sign-up was verified meanwhile.
 */
async function createGitHubUser(db: Db, profile: GitHubProfile, replacing?: string): Promise<User | undefined> {
  try {
    return await db.transaction().execute(async (trx) => {
      if (replacing && !(await deletePendingSignup(trx, replacing))) throw new Lost();
      const user = await insertUser(trx, {
        id: randomUUID(),
        email: profile.email,
        username: await freeUsername(trx, profile),
        name: profile.name,
        password_hash: null,
        email_verified: true,
      });
      if (!(await insertIdentity(trx, identityRow(user.id, profile)))) throw new Lost();
      return user;
    });
  } catch (err) {
    if (err instanceof Lost || (err as { code?: string }).code === '23505') return undefined;
    throw err;
  }
}

class Lost extends Error {}

/** Links GitHub to an account; false when the identity or the account's GitHub slot is taken. */
export async function linkGitHub(db: Db, userId: string, profile: GitHubProfile): Promise<boolean> {
  return insertIdentity(db, identityRow(userId, profile));
}

const identityRow = (userId: string, profile: GitHubProfile) => ({
  provider: 'github' as const,
  subject: profile.id,
  user_id: userId,
  display_name: profile.login,
});

/** The GitHub login, or login-2, login-3…, whichever is free; GitHub's id when none fits. */
async function freeUsername(db: Db, profile: GitHubProfile): Promise<string> {
  const base = USERNAME_PATTERN.test(profile.login) ? profile.login : `github-${profile.id}`;
  for (let n = 1; n <= 20; n++) {
    const suffix = n === 1 ? '' : `-${n}`;
    const candidate = `${base.slice(0, 39 - suffix.length)}${suffix}`;
    if (!(await findUserByLogin(db, candidate))) return candidate;
  }
  return `github-${profile.id}`;
}
