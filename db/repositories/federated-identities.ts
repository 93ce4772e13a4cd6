import type { Db } from '../database.ts';
import type { FederatedIdentity } from '../schema.ts';

type Provider = FederatedIdentity['provider'];

export async function findIdentity(
  db: Db,
  provider: Provider,
  subject: string,
): Promise<FederatedIdentity | undefined> {
  return db
    .selectFrom('federated_identities')
    .selectAll()
    .where('provider', '=', provider)
    .where('subject', '=', subject)
    .executeTakeFirst();
}

export async function identityOfUser(
  db: Db,
  userId: string,
  provider: Provider,
): Promise<FederatedIdentity | undefined> {
  return db
    .selectFrom('federated_identities')
    .selectAll()
    .where('user_id', '=', userId)
    .where('provider', '=', provider)
    .executeTakeFirst();
}

/** False when the identity or the user's slot for this provider is already taken. */
export async function insertIdentity(
  db: Db,
  identity: { provider: Provider; subject: string; user_id: string; display_name: string },
): Promise<boolean> {
  const inserted = await db
    .insertInto('federated_identities')
    .values(identity)
    .onConflict((oc) => oc.doNothing())
    .returning('subject')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Keeps the shown name current: the subject stays, the login may have been renamed. */
export async function renameIdentity(db: Db, provider: Provider, subject: string, displayName: string): Promise<void> {
  await db
    .updateTable('federated_identities')
    .set({ display_name: displayName })
    .where('provider', '=', provider)
    .where('subject', '=', subject)
    .where('display_name', '<>', displayName)
    .execute();
}

export async function deleteIdentity(db: Db, userId: string, provider: Provider): Promise<boolean> {
  const result = await db
    .deleteFrom('federated_identities')
    .where('user_id', '=', userId)
    .where('provider', '=', provider)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listIdentitiesOfUser(db: Db, userId: string): Promise<FederatedIdentity[]> {
  return db.selectFrom('federated_identities').selectAll().where('user_id', '=', userId).orderBy('linked_at').execute();
}
