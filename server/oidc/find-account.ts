import type { FindAccount } from 'oidc-provider';
import type { Db } from '../../db/database.ts';
import { userRoleNames } from '../../db/repositories/roles.ts';
import { findUserById } from '../../db/repositories/users.ts';

/** The account behind a `sub`; a disabled or deleted user has none, which ends their sessions' use. */
export function accountFinder(db: Db): FindAccount {
  return async (_ctx, sub) => {
    const user = await findUserById(db, sub);
    if (!user || user.disabled_at) return undefined;
    return {
      accountId: user.id,
      async claims() {
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name ?? undefined,
          preferred_username: user.username ?? undefined,
          roles: await userRoleNames(db, user.id),
        };
      },
    };
  };
}
