import { describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { appendAuditEvent } from '../../server/audit/chain.ts';
import { verifyAuditChain } from '../../server/audit/verify-chain.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/**
 * The ends of the chain: removing the newest events, or adding one beside the chain with SQL,
 * is seen too (the middle is covered end to end by the `tessera audit verify` tests).
 */
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

async function newestId(): Promise<string> {
  const { rows } = await sql<{ id: string }>`select max(id)::text as id from audit_events`.execute(db);
  return rows[0]?.id ?? '';
}

describe('audit chain verification', () => {
  it('names the newest event when it was deleted', async () => {
    for (let i = 0; i < 3; i++) await appendAuditEvent(db, { type: 'login.failed', details: { i } });
    const newest = await newestId();
    const saved = await sql`select * from audit_events where id = ${newest}::bigint`.execute(db);
    await sql`delete from audit_events where id = ${newest}::bigint`.execute(db);

    expect(await verifyAuditChain(db)).toMatchObject({
      intact: false,
      id: newest,
      problem: expect.stringMatching(
        /^the newest events were removed: the chain ends at event \d+, its head records event/,
      ),
    });

    await sql`insert into audit_events select * from json_populate_record(null::audit_events, ${JSON.stringify(saved.rows[0])})`.execute(
      db,
    );
    expect(await verifyAuditChain(db)).toMatchObject({ intact: true });
  });

  it('names an event inserted with SQL after the newest one', async () => {
    await appendAuditEvent(db, { type: 'login.failed' });
    await sql`
      insert into audit_events (type, prev_hash, hash)
      select 'role.created', hash, repeat('0', 64) from audit_events order by id desc limit 1`.execute(db);
    const forged = await newestId();

    expect(await verifyAuditChain(db)).toMatchObject({
      intact: false,
      id: forged,
      problem: 'it was added beside the chain, not appended to it',
    });
  });
});
