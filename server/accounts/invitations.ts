import type { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { findUserById, markEmailVerified, updatePasswordHash } from '../../db/repositories/users.ts';
import { parseInput } from '../validation.ts';
import { queueInvitationMail } from './account-mail.ts';
import { checkEmailToken, consumeEmailToken, oneRequestPerLink } from './email-tokens.ts';
import { passwordProblemFor } from './password-policy.ts';
import { hashPassword } from './passwords.ts';
import { describeUser, insertAccount, type UserView, userInput } from './users.ts';

/**
 * Accounts an operator makes without typing a password for someone: the account is created with
 * no password and an invitation mail is queued in the same transaction (both or neither). The
 * mailed link is single use and expires (email-tokens.ts); with it the person chooses a password
 * under the sign-up policy, which also verifies their address. Spending the link and setting the
 * password are one transaction, and only the request whose conditional UPDATE spent the link
 * sets it: however many arrive at once, one wins and the others are told the link is used.
 */
export const invitationInput = userInput.omit({ password: true });

export async function inviteUser(db: Db, input: z.input<typeof invitationInput>): Promise<UserView> {
  const u = parseInput(invitationInput, input);
  const user = await db.transaction().execute(async (trx) => {
    const created = await insertAccount(trx, u, null);
    await queueInvitationMail(trx, created);
    return created;
  });
  return describeUser(user, u.roles.toSorted());
}

/** Whom a live invitation link is for, without spending it. */
export async function invitedUser(db: Db, token: string) {
  const live = token ? await checkEmailToken(db, token, 'invitation') : undefined;
  return live ? findUserById(db, live.user_id) : undefined;
}

export type Acceptance = { ok: true; userId: string } | { ok: false; problem?: string };

/** Sets the invited person's first password with the link; `problem` names a password the policy refuses. */
export function acceptInvitation(db: Db, token: string, password: string): Promise<Acceptance> {
  return oneRequestPerLink(token, async () => {
    const user = await invitedUser(db, token);
    if (!user) return { ok: false };
    const problem = await passwordProblemFor(password, user);
    if (problem) return { ok: false, problem };
    return db.transaction().execute(async (trx) => {
      const spent = await consumeEmailToken(trx, token, 'invitation');
      if (!spent) return { ok: false } as const;
      // Hashed only by the request that spent the link (another node's burst stops at the line above).
      await updatePasswordHash(trx, spent.user_id, await hashPassword(password));
      await markEmailVerified(trx, spent.user_id, spent.email);
      return { ok: true, userId: spent.user_id } as const;
    });
  });
}
