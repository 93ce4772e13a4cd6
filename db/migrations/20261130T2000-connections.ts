import { type Kysely, sql } from 'kysely';

/**
 * Upstream identity providers an operator connected (OpenID Connect, or GitHub and GitHub
 * Enterprise), one row each, the client secret encrypted like every secret at rest. A domain
 * (home-realm discovery) points at one connection at most, which the primary key of
 * connection_domains holds under any concurrency. `source` tells rows an operator made from the
 * one the GITHUB_* variables define at start. Federated identities keep their `provider` column,
 * which now holds the connection's id ('github' for the GitHub of the environment, as before).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('oidc', 'github')`))
    .addColumn('name', 'text', (c) => c.notNull())
    // oidc: the issuer discovery starts from. github: the web and API base URLs.
    .addColumn('issuer', 'text')
    .addColumn('base_url', 'text')
    .addColumn('api_url', 'text')
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_secret_encrypted', 'text', (c) => c.notNull())
    .addColumn('scopes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('trust_upstream_mfa', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('source', 'text', (c) =>
      c.notNull().defaultTo('operator').check(sql`source in ('operator', 'environment')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'connections_type_fields',
      sql`(type = 'oidc' and issuer is not null) or (type = 'github' and base_url is not null and api_url is not null)`,
    )
    .execute();
  await sql`create unique index connections_name_key on connections (lower(name))`.execute(db);
  await db.schema
    .createTable('connection_domains')
    .addColumn('domain', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
    .execute();
  await sql`create index connection_domains_connection on connection_domains (connection_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('connection_domains').execute();
  await db.schema.dropTable('connections').execute();
}
