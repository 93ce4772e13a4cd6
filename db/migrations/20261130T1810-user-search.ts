import { type Kysely, sql } from 'kysely';

/**
 * Searching users by any part of their email, username or name without reading every row: a
 * trigram index (pg_trgm) over the three, which a `like '%…%'` on the same expression uses. The
 * extension is trusted (a database owner may create it) and the embedded database loads it; where
 * it cannot be created, the index is left out and the same search reads the table instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $$ begin
      create extension if not exists pg_trgm;
    exception when others then
      raise notice 'pg_trgm is not available: user search reads the whole table';
    end $$`.execute(db);
  await sql`
    do $$ begin
      if exists (select 1 from pg_extension where extname = 'pg_trgm') then
        create index users_search on users using gin (
          lower(email || chr(10) || coalesce(username, '') || chr(10) || coalesce(name, '')) gin_trgm_ops);
      end if;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists users_search`.execute(db);
}
