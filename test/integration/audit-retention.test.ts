import { describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { deleteAuditEventsBefore, insertAuditEvent } from '../../db/repositories/audit-events.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/** Audit events are kept for their retention period, then the sweep deletes them, oldest only. */
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

describe('audit retention', () => {
  it('deletes the events older than the cutoff and keeps the rest', async () => {
    await insertAuditEvent(db, { type: 'login.succeeded', details: { which: 'old' } });
    await sql`update audit_events set at = now() - interval '400 days'`.execute(db);
    await insertAuditEvent(db, { type: 'login.succeeded', details: { which: 'recent' } });

    const cutoff = new Date(Date.now() - 365 * 86_400_000);
    expect(await deleteAuditEventsBefore(db, cutoff)).toBe(1);
    expect(await deleteAuditEventsBefore(db, cutoff)).toBe(0);
    const left = await db.selectFrom('audit_events').select('details').execute();
    expect(left.map((e) => e.details)).toEqual([{ which: 'recent' }]);
  });
});
