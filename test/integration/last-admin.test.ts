/**
 * Who counts as the admin who must remain (server/admin-api/last-admin.ts): an enabled account
 * holding the role, and not a sign-up never verified, which is deleted when it expires.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import { countEnabledHolders, setUserRoles } from '../../db/repositories/roles.ts';
import { insertUser } from '../../db/repositories/users.ts';
import { pendingSignupDeadline } from '../../server/accounts/pending-signups.ts';
import { keepingAnAdmin } from '../../server/admin-api/last-admin.ts';
import { openTestDb } from '../support/database.ts';

let db: Db;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, close } = await openTestDb({ migrated: true }));
});

afterAll(async () => {
  await close?.();
});

it('does not count a sign-up never verified, and undoes the change that would leave none', async () => {
  await insertUser(db, { id: 'ada', email: 'ada@example.test', email_verified: true });
  await insertUser(db, {
    id: 'pending',
    email: 'pending@example.test',
    email_verified: false,
    pending_until: pendingSignupDeadline(),
  });
  for (const id of ['ada', 'pending']) await setUserRoles(db, id, ['role_admin']);
  expect(await countEnabledHolders(db, 'admin')).toBe(1);

  await expect(keepingAnAdmin(db, (trx) => setUserRoles(trx, 'ada', []))).rejects.toThrow(
    'no enabled user with the admin role',
  );
  expect(await countEnabledHolders(db, 'admin')).toBe(1);

  // Verified, the same account counts, and the first may go.
  await db
    .updateTable('users')
    .set({ email_verified: true, pending_until: null })
    .where('id', '=', 'pending')
    .execute();
  await keepingAnAdmin(db, (trx) => setUserRoles(trx, 'ada', []));
  expect(await countEnabledHolders(db, 'admin')).toBe(1);
});
