import { type Kysely, sql } from 'kysely';

/**
 * The OIDC core: users and roles, clients and APIs, signing keys, oidc-provider's artifacts and the
 * audit trail. `config_version` counts changes to what every node caches (clients, APIs, keys,
 * roles); triggers bump it so no writer can forget to.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('username', 'text')
    .addColumn('name', 'text')
    .addColumn('password_hash', 'text')
    .addColumn('email_verified', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('users_email_shape', sql`email like '%_@_%'`)
    .execute();
  await sql`create unique index users_email_unique on users (lower(email))`.execute(db);
  await sql`create unique index users_username_unique on users (lower(username))`.execute(db);

  await db.schema
    .createTable('roles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('roles_name_shape', sql`name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'`)
    .execute();
  await db
    .insertInto('roles')
    .values({ id: 'role_admin', name: 'admin', description: 'Administers Tessera' })
    .execute();

  await db.schema
    .createTable('user_roles')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
    .execute();

  await db.schema
    .createTable('clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('web', 'spa', 'machine')`))
    .addColumn('secret_encrypted', 'text')
    .addColumn('redirect_uris', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('post_logout_redirect_uris', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('scopes', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('clients_secret_by_type', sql`(type = 'spa') = (secret_encrypted is null)`)
    .execute();

  await db.schema
    .createTable('client_roles')
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id').onDelete('cascade'))
    .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('client_roles_pk', ['client_id', 'role_id'])
    .execute();

  await db.schema
    .createTable('resource_servers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('audience', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('scopes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('access_token_ttl', 'integer', (c) =>
      c.notNull().defaultTo(600).check(sql`access_token_ttl between 60 and 86400`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull().check(sql`alg in ('RS256', 'ES256')`))
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('private_jwk_encrypted', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('activates_at', 'timestamptz', (c) => c.notNull())
    .addColumn('retired_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('oidc_payloads')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    // json, not jsonb: payloads carry request parameters verbatim, and jsonb refuses \u0000.
    // Nothing queries inside a payload; lookups use the columns copied out of it.
    .addColumn('payload', 'json', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('user_code', 'text')
    .addColumn('uid', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('consumed_at', 'timestamptz')
    .addPrimaryKeyConstraint('oidc_payloads_pk', ['type', 'id'])
    .execute();
  await sql`create index oidc_payloads_grant on oidc_payloads (type, grant_id) where grant_id is not null`.execute(db);
  await sql`create index oidc_payloads_uid on oidc_payloads (uid) where uid is not null`.execute(db);
  await sql`create index oidc_payloads_user_code on oidc_payloads (user_code) where user_code is not null`.execute(db);
  await sql`create index oidc_payloads_expiry on oidc_payloads (expires_at) where expires_at is not null`.execute(db);

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('actor', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await sql`create index audit_events_at on audit_events (at)`.execute(db);
  await sql`create index audit_events_user on audit_events (user_id, at) where user_id is not null`.execute(db);

  await db.schema
    .createTable('config_version')
    .addColumn('id', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`id`))
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
  await db.insertInto('config_version').values({ id: true, version: 1 }).execute();
  await sql`
    create function bump_config_version() returns trigger language plpgsql as $$
    begin
      update config_version set version = version + 1;
      return null;
    end $$`.execute(db);
  for (const table of ['clients', 'client_roles', 'resource_servers', 'signing_keys', 'roles']) {
    await sql`
      create trigger ${sql.raw(`${table}_bump_config_version`)}
      after insert or update or delete on ${sql.table(table)}
      for each statement execute function bump_config_version()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'config_version',
    'audit_events',
    'oidc_payloads',
    'signing_keys',
    'resource_servers',
    'client_roles',
    'clients',
    'user_roles',
    'roles',
    'users',
  ]) {
    await db.schema.dropTable(table).execute();
  }
  await sql`drop function bump_config_version()`.execute(db);
}
