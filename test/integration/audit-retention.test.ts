import { describe, expect, it } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import { appendAuditEvent, sweepAuditEventsBefore } from '../../server/audit/chain.ts';
import { verifyAuditChain } from '../../server/audit/verify-chain.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/**
 * Audit events are kept for their retention period, then the sweep deletes the oldest: always a
 * prefix of the chain, recording where it cut, so the rest still verifies and a removal by hand
 * of the oldest event left is still seen.
 */
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

async function events() {
  return db.selectFrom('audit_events').select(['id', 'at', 'details']).orderBy('id').execute();
}

describe('audit retention', () => {
  it('deletes the events older than the cutoff, keeps the rest, and the chain verifies from the cut', async () => {
    for (const which of ['old-1', 'old-2', 'recent-1', 'recent-2']) {
      await appendAuditEvent(db, { type: 'login.succeeded', details: { which } });
      await tick();
    }
    const [, old2] = await events();
    const cutoff = new Date((old2?.at.getTime() ?? 0) + 1);

    expect(await sweepAuditEventsBefore(db, cutoff)).toBe(2);
    expect(await sweepAuditEventsBefore(db, cutoff)).toBe(0);
    const left = await events();
    expect(left.map((e) => e.details)).toEqual([{ which: 'recent-1' }, { which: 'recent-2' }]);
    expect(await verifyAuditChain(db)).toEqual({
      intact: true,
      events: 2,
      first_id: String(left[0]?.id),
      last_id: String(left[1]?.id),
      last_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    await appendAuditEvent(db, { type: 'login.succeeded', details: { which: 'after the sweep' } });
    expect(await verifyAuditChain(db)).toMatchObject({ intact: true, events: 3 });
  });

  it('still sees the oldest event left being deleted by hand', async () => {
    await appendAuditEvent(db, { type: 'login.failed' });
    await appendAuditEvent(db, { type: 'login.failed' });
    expect(await verifyAuditChain(db)).toMatchObject({ intact: true });
    const [oldest, next] = await events();
    await db.deleteFrom('audit_events').where('id', '=', String(oldest?.id)).execute();
    expect(await verifyAuditChain(db)).toEqual({
      intact: false,
      id: String(next?.id),
      problem: 'the events before it were removed (not by the retention sweep)',
    });
  });
});
