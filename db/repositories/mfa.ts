import { sql } from 'kysely';
import type { Db } from '../database.ts';
import { preparedQuery } from '../prepared-query.ts';

/**
 * Writes a new unconfirmed secret, dated now (`created_at` is when the current secret was made);
 * a confirmed factor is left alone (answers false).
 */
export async function upsertPendingTotp(db: Db, userId: string, secretEncrypted: string): Promise<boolean> {
  const now = new Date();
  const row = await db
    .insertInto('totp_factors')
    .values({ user_id: userId, secret_encrypted: secretEncrypted, created_at: now })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet({ secret_encrypted: secretEncrypted, last_used_step: null, created_at: now })
        .where('totp_factors.confirmed_at', 'is', null),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Locks the account's TOTP factor row until the transaction ends; whether it is confirmed, or undefined without one. */
export async function lockTotpFactor(db: Db, userId: string): Promise<{ confirmed: boolean } | undefined> {
  const row = await db
    .selectFrom('totp_factors')
    .select('confirmed_at')
    .where('user_id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  return row && { confirmed: row.confirmed_at !== null };
}

export async function findTotpFactor(db: Db, userId: string) {
  return db
    .selectFrom('totp_factors')
    .select(['secret_encrypted', 'confirmed_at', 'last_used_step', 'created_at'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

/**
 * Confirms the pending secret the caller checked the code against, spending that step. Matching
 * on the sealed secret too means a restart that raced in between is not confirmed by mistake.
 */
export async function confirmTotpFactor(db: Db, userId: string, secretEncrypted: string, step: number) {
  const result = await db
    .updateTable('totp_factors')
    .set({ confirmed_at: new Date(), last_used_step: step })
    .where('user_id', '=', userId)
    .where('secret_encrypted', '=', secretEncrypted)
    .where('confirmed_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Spends a step in one statement: a step at or before the last one spent is a replay. */
export async function spendTotpStep(db: Db, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('totp_factors')
    .set({ last_used_step: step })
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteTotpFactor(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('totp_factors').where('user_id', '=', userId).execute();
}

/** Replaces the user's recovery codes; run it in the caller's transaction. */
export async function replaceRecoveryCodes(
  db: Db,
  userId: string,
  codes: { id: string; code_hash: string }[],
): Promise<void> {
  await deleteRecoveryCodes(db, userId);
  if (codes.length > 0) {
    await db
      .insertInto('recovery_codes')
      .values(codes.map((c) => ({ ...c, user_id: userId })))
      .execute();
  }
}

/** Spends an unused code in one statement, so two submissions cannot both use it. */
export async function spendRecoveryCode(db: Db, userId: string, codeHash: string): Promise<boolean> {
  const row = await db
    .updateTable('recovery_codes')
    .set({ used_at: new Date() })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function deleteRecoveryCodes(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
}

export async function countUnusedRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return row.n;
}

const findMfaStanding = preparedQuery((db: Db, v: { userId: string }) =>
  db.selectNoFrom((eb) => [
    eb
      .exists(
        eb
          .selectFrom('totp_factors')
          .select('user_id')
          .where('user_id', '=', v.userId)
          .where('confirmed_at', 'is not', null),
      )
      .as('totp'),
    eb.exists(eb.selectFrom('passkeys').select('user_id').where('user_id', '=', v.userId)).as('passkey'),
    eb
      .exists(
        eb
          .selectFrom('user_roles')
          .innerJoin('roles', 'roles.id', 'user_roles.role_id')
          .select('roles.id')
          .where('user_roles.user_id', '=', v.userId)
          .where('roles.requires_mfa', '=', true),
      )
      .as('role_requires_mfa'),
  ]),
);

/**
 * What a sign-in asks of a user's factors, in one statement: whether they have a confirmed TOTP
 * factor, and whether any role they hold requires MFA.
 */
export async function mfaStanding(
  db: Db,
  userId: string,
): Promise<{ totp: boolean; passkey: boolean; roleRequiresMfa: boolean }> {
  const [row] = await findMfaStanding(db, { userId });
  return { totp: Boolean(row?.totp), passkey: Boolean(row?.passkey), roleRequiresMfa: Boolean(row?.role_requires_mfa) };
}

export async function clientRequiresMfa(db: Db, clientId: string): Promise<boolean> {
  const row = await db.selectFrom('clients').select('require_mfa').where('client_id', '=', clientId).executeTakeFirst();
  return row?.require_mfa ?? false;
}
