import { describe, expect, it } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import { createAuditAppender } from '../../server/audit/chain.ts';
import { verifyAuditChain } from '../../server/audit/verify-chain.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/**
 * Each process appends the audit events that arrive together in one transaction, taking turns
 * with other processes on the chain's head: many writers at once still make one whole chain, and
 * one event the database refuses fails only the call that wrote it.
 */
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

describe('audit appends', () => {
  it('make one whole chain from 300 events written at once by three appenders', async () => {
    const appenders = [createAuditAppender(db), createAuditAppender(db), createAuditAppender(db)];
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        appenders[i % 3]?.({ type: 'login.failed', ip: `10.0.0.${i % 250}`, details: { i } }),
      ),
    );
    const written = await db.selectFrom('audit_events').select('details').where('type', '=', 'login.failed').execute();
    expect(written.map((e) => e.details.i).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
    expect(await verifyAuditChain(db)).toMatchObject({ intact: true });
  });

  it('fail only the caller whose event the database refuses', async () => {
    const before = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirst();
    const append = createAuditAppender(db);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        // jsonb refuses the NUL character.
        append({ type: 'login.unverified', details: { note: i === 7 ? 'bad\u0000' : 'fine' } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i === 7 ? 'rejected' : 'fulfilled')),
    );
    expect(await verifyAuditChain(db)).toMatchObject({ intact: true, events: Number(before?.n) + 19 });
  });
});
