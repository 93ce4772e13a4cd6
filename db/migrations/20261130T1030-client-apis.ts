import { type Kysely, sql } from 'kysely';

/**
 * The APIs each client may get access tokens for. A row is an operator's grant; deleting the
 * client or the API deletes it. Changes bump config_version like the other tables every node caches.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('client_apis')
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id').onDelete('cascade'))
    .addColumn('api_id', 'text', (c) => c.notNull().references('resource_servers.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('client_apis_pk', ['client_id', 'api_id'])
    .execute();
  await sql`create index client_apis_api on client_apis (api_id)`.execute(db);
  await sql`
    create trigger client_apis_bump_config_version
    after insert or update or delete on client_apis
    for each statement execute function bump_config_version()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_apis').execute();
}
