import type { Insertable, Updateable } from 'kysely';
import type { Db } from '../database.ts';
import { preparedQuery } from '../prepared-query.ts';
import type { ConnectionRow, ConnectionsTable } from '../schema.ts';

export interface ConnectionWithDomains extends ConnectionRow {
  domains: string[];
}

export async function insertConnection(db: Db, row: Insertable<ConnectionsTable>): Promise<void> {
  await db.insertInto('connections').values(row).execute();
}

export async function findConnection(db: Db, id: string): Promise<ConnectionWithDomains | undefined> {
  const row = await db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return { ...row, domains: await domainsOf(db, id) };
}

export async function listConnections(db: Db, only?: { enabled: true }): Promise<ConnectionWithDomains[]> {
  let query = db.selectFrom('connections').selectAll().orderBy('created_at').orderBy('id');
  if (only?.enabled) query = query.where('enabled', '=', true);
  const [rows, domains] = await Promise.all([
    query.execute(),
    db.selectFrom('connection_domains').selectAll().orderBy('domain').execute(),
  ]);
  return rows.map((row) => ({
    ...row,
    domains: domains.filter((d) => d.connection_id === row.id).map((d) => d.domain),
  }));
}

const operatorConnectionNames = preparedQuery((db: Db, _v: object) =>
  db
    .selectFrom('connections')
    .select(['id', 'name'])
    .where('enabled', '=', true)
    .where('source', '=', 'operator')
    .orderBy('created_at')
    .orderBy('id'),
);

/** The id and name of each enabled connection an operator made, oldest first: what the sign-in pages offer. */
export async function listOperatorConnectionNames(db: Db): Promise<{ id: string; name: string }[]> {
  return operatorConnectionNames(db, {});
}

async function domainsOf(db: Db, id: string): Promise<string[]> {
  const rows = await db
    .selectFrom('connection_domains')
    .select('domain')
    .where('connection_id', '=', id)
    .orderBy('domain')
    .execute();
  return rows.map((r) => r.domain);
}

/** Replaces a connection's domains; a domain another connection holds fails with 23505. */
export async function setConnectionDomains(db: Db, id: string, domains: string[]): Promise<void> {
  await db.deleteFrom('connection_domains').where('connection_id', '=', id).execute();
  if (domains.length > 0) {
    await db
      .insertInto('connection_domains')
      .values(domains.map((domain) => ({ domain, connection_id: id })))
      .execute();
  }
}

const enabledConnectionByDomain = preparedQuery((db: Db, v: { domain: string }) =>
  db
    .selectFrom('connection_domains')
    .innerJoin('connections', 'connections.id', 'connection_domains.connection_id')
    .selectAll('connections')
    .where('connection_domains.domain', '=', v.domain)
    .where('connections.enabled', '=', true),
);

/** The enabled connection that holds `domain`, for home-realm discovery. */
export async function enabledConnectionOfDomain(db: Db, domain: string): Promise<ConnectionRow | undefined> {
  const [row] = await enabledConnectionByDomain(db, { domain });
  return row;
}

export async function updateConnectionRow(db: Db, id: string, patch: Updateable<ConnectionsTable>): Promise<boolean> {
  const result = await db
    .updateTable('connections')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Unlinks every identity linked through the connection; how many there were. */
export async function deleteIdentitiesOf(db: Db, connectionId: string): Promise<number> {
  const result = await db.deleteFrom('federated_identities').where('provider', '=', connectionId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes the connection with its domains and the identities people linked through it. */
export async function deleteConnectionRow(db: Db, id: string): Promise<boolean> {
  await deleteIdentitiesOf(db, id);
  const result = await db.deleteFrom('connections').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Creates or replaces the row the environment defines under `id`, enabled. Pointed at another
 * GitHub (another origin), the identities linked through it go, in the same transaction: the same
 * numeric id there is someone else. Answers how many went.
 */
export async function upsertEnvironmentConnection(db: Db, row: Insertable<ConnectionsTable>): Promise<number> {
  const { id: _id, created_at: _created, ...fields } = row;
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('connections')
      .select('base_url')
      .where('id', '=', row.id)
      .forUpdate()
      .executeTakeFirst();
    const moved = before !== undefined && !sameOrigin(before.base_url, row.base_url ?? null);
    const unlinked = moved ? await deleteIdentitiesOf(trx, row.id) : 0;
    await trx
      .insertInto('connections')
      .values({ ...row, source: 'environment', enabled: true })
      .onConflict((oc) => oc.column('id').doUpdateSet({ ...fields, enabled: true, updated_at: new Date() }))
      .execute();
    return unlinked;
  });
}

/** Disables the row the environment defined under `id` once the environment no longer does. */
export async function disableEnvironmentConnection(db: Db, id: string): Promise<void> {
  await db
    .updateTable('connections')
    .set({ enabled: false, updated_at: new Date() })
    .where('id', '=', id)
    .where('source', '=', 'environment')
    .where('enabled', '=', true)
    .execute();
}

/** The identities a user linked through connections an operator made, with the connections' names. */
export async function connectionIdentitiesOf(
  db: Db,
  userId: string,
): Promise<{ name: string; display_name: string; linked_at: Date }[]> {
  return db
    .selectFrom('federated_identities')
    .innerJoin('connections', 'connections.id', 'federated_identities.provider')
    .select(['connections.name', 'federated_identities.display_name', 'federated_identities.linked_at'])
    .where('federated_identities.user_id', '=', userId)
    .where('connections.source', '=', 'operator')
    .orderBy('federated_identities.linked_at')
    .execute();
}

/** Whether two URLs (or their absence) name the same origin. */
export function sameOrigin(a: string | null, b: string | null): boolean {
  return (a && URL.parse(a)?.origin) === (b && URL.parse(b)?.origin);
}
