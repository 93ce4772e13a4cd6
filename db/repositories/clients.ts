import type { Insertable, Updateable } from 'kysely';
import type { Db } from '../database.ts';
import type { ClientRow, ClientsTable } from '../schema.ts';

export interface ClientWithRoles extends ClientRow {
  roles: string[];
  /** Audiences of the APIs an operator granted this client by name. */
  apis: string[];
}

export async function insertClient(db: Db, row: Insertable<ClientsTable>): Promise<void> {
  await db.insertInto('clients').values(row).execute();
}

export async function findClient(db: Db, clientId: string): Promise<ClientWithRoles | undefined> {
  const row = await db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  if (!row) return undefined;
  const [roles, apis] = await Promise.all([clientRoleNames(db, clientId), clientApiAudiences(db, clientId)]);
  return { ...row, roles, apis };
}

export async function listClients(db: Db): Promise<ClientWithRoles[]> {
  const [rows, roles, apis] = await Promise.all([
    db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('client_id').execute(),
    db
      .selectFrom('client_roles')
      .innerJoin('roles', 'roles.id', 'client_roles.role_id')
      .select(['client_roles.client_id', 'roles.name'])
      .orderBy('roles.name')
      .execute(),
    clientApisQuery(db).select('client_apis.client_id').execute(),
  ]);
  return rows.map((row) => ({
    ...row,
    roles: roles.filter((r) => r.client_id === row.client_id).map((r) => r.name),
    apis: apis.filter((a) => a.client_id === row.client_id).map((a) => a.audience),
  }));
}

export async function clientRoleNames(db: Db, clientId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('client_roles')
    .innerJoin('roles', 'roles.id', 'client_roles.role_id')
    .select('roles.name')
    .where('client_roles.client_id', '=', clientId)
    .orderBy('roles.name')
    .execute();
  return rows.map((r) => r.name);
}

const clientApisQuery = (db: Db) =>
  db
    .selectFrom('client_apis')
    .innerJoin('resource_servers', 'resource_servers.id', 'client_apis.api_id')
    .select('resource_servers.audience')
    .orderBy('resource_servers.audience');

export async function clientApiAudiences(db: Db, clientId: string): Promise<string[]> {
  const rows = await clientApisQuery(db).where('client_apis.client_id', '=', clientId).execute();
  return rows.map((r) => r.audience);
}

/** Replaces the APIs granted to a client by name. */
export async function setClientApis(db: Db, clientId: string, apiIds: string[]): Promise<void> {
  await db.deleteFrom('client_apis').where('client_id', '=', clientId).execute();
  if (apiIds.length > 0) {
    await db
      .insertInto('client_apis')
      .values(apiIds.map((api_id) => ({ client_id: clientId, api_id })))
      .execute();
  }
}

export async function setClientRoles(db: Db, clientId: string, roleIds: string[]): Promise<void> {
  await db.deleteFrom('client_roles').where('client_id', '=', clientId).execute();
  if (roleIds.length > 0) {
    await db
      .insertInto('client_roles')
      .values(roleIds.map((role_id) => ({ client_id: clientId, role_id })))
      .execute();
  }
}

export async function updateClientSecret(db: Db, clientId: string, sealedSecret: string): Promise<boolean> {
  const result = await db
    .updateTable('clients')
    .set({ secret_encrypted: sealedSecret, updated_at: new Date() })
    .where('client_id', '=', clientId)
    .where('type', 'not in', ['spa', 'device'])
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteClient(db: Db, clientId: string): Promise<boolean> {
  const result = await db.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function updateClientRow(
  db: Db,
  clientId: string,
  patch: Omit<Updateable<ClientsTable>, 'client_id' | 'type' | 'secret_encrypted'>,
): Promise<boolean> {
  const result = await db
    .updateTable('clients')
    .set({ ...patch, updated_at: new Date() })
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Every back-channel logout URI an operator registered. */
/** Every URL an operator registered for a client to be fetched or posted to: jwks_uri and back-channel logout. */
export async function listOperatorDestinations(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('clients').select(['backchannel_logout_uri', 'jwks_uri']).execute();
  return rows.flatMap((r) => [r.backchannel_logout_uri, r.jwks_uri].filter((uri): uri is string => uri !== null));
}
