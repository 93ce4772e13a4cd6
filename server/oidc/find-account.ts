import type { Account, FindAccount, KoaContextWithOIDC } from 'oidc-provider';
import { takeFromRequest } from '../../adapters/request-prefetch.ts';
import type { Db } from '../../db/database.ts';
import { type AccountUser, findAccountUser } from '../../db/repositories/users.ts';

/** An oidc-provider account that also knows its roles, read once per request. */
export interface TesseraAccount extends Account {
  roles: string[];
}

/** The account behind a `sub`; a disabled or deleted user has none, which ends their sessions' use. */
export function accountFinder(db: Db): FindAccount {
  return async (_ctx, sub): Promise<TesseraAccount | undefined> => {
    // A refresh token's rotation read its account with the token (oidc-adapter.ts).
    const user = takeFromRequest<AccountUser>(`Account:${sub}`) ?? (await findAccountUser(db, sub));
    if (!user || user.disabled_at) return undefined;
    return {
      accountId: user.id,
      roles: user.roles,
      async claims() {
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name ?? undefined,
          preferred_username: user.username ?? undefined,
          roles: user.roles,
        };
      },
    };
  };
}

/** The roles of the account this request already loaded, if it is the one asked about. */
export function rolesLoadedFor(ctx: KoaContextWithOIDC, accountId: string): string[] | undefined {
  const account = ctx.oidc?.account as TesseraAccount | undefined;
  return account?.accountId === accountId ? account.roles : undefined;
}
