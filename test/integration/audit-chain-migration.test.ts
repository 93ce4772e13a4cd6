import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { Db } from '../../db/database.ts';
import { migrations } from '../../db/migrations/index.ts';
import { migrateToLatest } from '../../db/migrator.ts';
import { appendAuditEvent } from '../../server/audit/chain.ts';
import { verifyAuditChain } from '../../server/audit/verify-chain.ts';
import { openTestDb } from '../support/database.ts';

/** Upgrading chains the audit events written before there was a chain, in the order they were written. */
let db: Db;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, close } = await openTestDb());
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error } = await migrator.migrateTo('20261123T1900-federation');
  if (error) throw error;
});

afterAll(async () => {
  await close?.();
});

describe('the audit chain migration', () => {
  it('chains the existing events, and new ones follow them', async () => {
    await sql`
      insert into audit_events (type, user_id, actor, ip, details, at) values
        ('login.succeeded', 'u1', null, '10.0.0.1', '{"b": 2, "a": {"z": [1, "x"], "y": null}}', now() - interval '3 days'),
        ('role.created', null, 'cli', null, '{}', now() - interval '2 days'),
        ('login.failed', null, null, '10.0.0.2', '{"reason": "invalid_credentials"}', now())`.execute(db);

    await migrateToLatest(db);
    expect(await verifyAuditChain(db)).toMatchObject({ intact: true, events: 3 });

    await appendAuditEvent(db, { type: 'login.succeeded', userId: 'u1', details: { after: 'upgrade' } });
    expect(await verifyAuditChain(db)).toMatchObject({ intact: true, events: 4 });

    await sql`update audit_events set ip = '10.9.9.9' where type = 'login.failed'`.execute(db);
    expect(await verifyAuditChain(db)).toMatchObject({ intact: false, problem: expect.stringContaining('changed') });
  });
});
