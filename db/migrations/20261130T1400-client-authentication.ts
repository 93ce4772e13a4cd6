import { type Kysely, sql } from 'kysely';

/**
 * How each client authenticates at the token endpoint, and what it must do beyond that:
 * `token_endpoint_auth_method` (null: its type's default), the keys of a private_key_jwt client
 * (a `jwks_uri`, or a JWK set kept inline), and whether its tokens must be DPoP-bound and its
 * authorization requests pushed (PAR).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('token_endpoint_auth_method', 'text')
    .addColumn('jwks_uri', 'text')
    .addColumn('jwks', 'jsonb')
    .addColumn('require_dpop', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('require_par', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`alter table clients add constraint clients_token_endpoint_auth_method check (
    token_endpoint_auth_method in ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'))`.execute(
    db,
  );
  // A spa client has no secret; another has one unless it authenticates with its keys.
  await db.schema.alterTable('clients').dropConstraint('clients_secret_by_type').execute();
  await sql`alter table clients add constraint clients_secret_by_auth check (
    case when type = 'spa' then secret_encrypted is null
    else secret_encrypted is not null or token_endpoint_auth_method = 'private_key_jwt' end)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').dropConstraint('clients_secret_by_auth').execute();
  await sql`alter table clients add constraint clients_secret_by_type check ((type = 'spa') = (secret_encrypted is null))`.execute(
    db,
  );
  await db.schema.alterTable('clients').dropConstraint('clients_token_endpoint_auth_method').execute();
  await db.schema
    .alterTable('clients')
    .dropColumn('token_endpoint_auth_method')
    .dropColumn('jwks_uri')
    .dropColumn('jwks')
    .dropColumn('require_dpop')
    .dropColumn('require_par')
    .execute();
}
